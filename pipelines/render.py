"""Ray job entry point for one video: `vidstyle render` on an existing cluster.

    ray job submit --address http://HEAD:8265 --working-dir . \
        --runtime-env pipelines/runtime_env.yaml -- \
        python pipelines/render.py /shared/in/long.mp4 --style muse -o /shared/out/long.muse.mp4
"""

import os
import sys

from vidstyle.cli import app

if __name__ == "__main__":
    os.environ.setdefault("RAY_ADDRESS", "auto")
    sys.exit(app(["render", *sys.argv[1:]]))
