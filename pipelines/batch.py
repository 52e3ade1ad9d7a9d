"""Ray job entry point: a vidstyle batch on an existing cluster, submitted with the standard CLI.

    ray job submit --address http://HEAD:8265 --working-dir . \
        --runtime-env pipelines/runtime_env.yaml -- \
        python pipelines/batch.py pipelines/example-manifest.jsonl -o /shared/out

Inside a submitted job RAY_ADDRESS points at the cluster, so `vidstyle batch` joins it instead of starting
Ray; every option of `vidstyle batch` works here (`python pipelines/batch.py --help`). The driver runs on
the head node and writes the outputs there: give `-o` a path on storage the head can write (a shared
mount, or a local disk you collect from). Inputs are read by the driver only; workers get compressed
segments through the object store.
"""

import os
import sys

from vidstyle.cli import app

if __name__ == "__main__":
    os.environ.setdefault("RAY_ADDRESS", "auto")  # run directly on a head node, too
    sys.exit(app(["batch", *sys.argv[1:]]))
