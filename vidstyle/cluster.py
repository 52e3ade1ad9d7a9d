"""Joining a Ray cluster, or starting Ray embedded: shared by rendering and training."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

from vidstyle import interrupts
from vidstyle.errors import VidstyleError


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), else start Ray embedded. True if we started it."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        # Workers on other nodes import vidstyle from the driver's copy; torch and av must be installed there.
        ray.init(
            address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]}, logging_level=logging.WARNING
        )
        interrupts.reclaim()  # ray.init replaced the SIGTERM handler: SIGTERM must stay Ctrl-C
        return False
    # Embedded Ray starts quietly: no dashboard nobody asked for, and not the notice Ray logs on every start
    # of a local cluster that it turned token authentication on (it stays on: Ray's default is kept, only
    # its notice is not shown; a user's own RAY_AUTH_MODE still decides).
    notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        ray.init(include_dashboard=False, logging_level=logging.WARNING)
    finally:
        notice.setLevel(level)
    interrupts.reclaim()
    return True


#: A render's actors on a GPU node: one per this many CPUs, sharing the node's GPUs. The network on a GPU
#: outruns one actor's CPU side (decode, colour conversion, x264 with its 4 threads, the stabiliser's
#: flow; bench/cpu_side.py: 0.19-0.29 CPU-seconds per 1080p frame on this project's machine) many times
#: over, so the GPU is kept busy by several actors, each decoding and encoding its own segments.
CPUS_PER_GPU_ACTOR = 4


def pool_shape(workers: int | None, device: str, share_gpus: bool = False) -> tuple[int, float, float, str]:
    """(workers, CPUs each, GPUs each, device) from what the cluster offers; see `shape`."""
    return shape(ray.cluster_resources(), workers, device, share_gpus)


def shape(
    resources: dict[str, float], workers: int | None, device: str, share_gpus: bool = False
) -> tuple[int, float, float, str]:
    """Without GPUs, the CPUs split between the workers (one per 2 CPUs by default). With GPUs, one GPU per
    worker (training: one model replica per GPU), or, with `share_gpus` (rendering), CPUS_PER_GPU_ACTOR
    CPUs per worker by default with each GPU shared by as many workers as that gives it, so that enough
    encoders run beside each GPU. Shares are 1/k of a GPU so that Ray packs exactly k workers on each."""
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    use_gpu = gpus > 0 and device in ("auto", "cuda")
    if device == "cuda" and not gpus:
        raise VidstyleError("--device cuda asked for, but the Ray cluster has no GPU; use --device cpu or auto.")
    if use_gpu and share_gpus:
        n = workers or gpus * max(1, cpus // gpus // CPUS_PER_GPU_ACTOR)
        per_gpu = -(-n // gpus)
        return n, max(1, cpus // n), 1 / per_gpu, "cuda"
    if use_gpu:
        n = workers or gpus
        return n, max(1, cpus // n), 1, "cuda"
    n = workers or max(1, cpus // 2)
    return n, max(1, cpus // n), 0, "cpu"
