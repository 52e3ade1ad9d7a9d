"""Ray job entry point: a vidstyle batch on an existing cluster, submitted with the standard CLI.

    ray job submit --address http://HEAD:8265 --working-dir . \
        --runtime-env pipelines/runtime_env.yaml -- \
        python pipelines/batch.py s3://bucket/manifest.jsonl -o s3://bucket/out/

Inside a submitted job RAY_ADDRESS points at the cluster, so `vidstyle batch` joins it instead of starting
Ray; every option of `vidstyle batch` works here (`python pipelines/batch.py --help`). The driver on the head
node handles metadata only; the workers read the inputs and write the outputs, so give locations every node
reaches: URLs in object storage (vidstyle[s3] on every node), or paths on a filesystem every node mounts at
the same place.
"""

import os
import sys

from vidstyle.cli import app

if __name__ == "__main__":
    os.environ.setdefault("RAY_ADDRESS", "auto")  # run directly on a head node, too
    sys.exit(app(["batch", *sys.argv[1:]]))
