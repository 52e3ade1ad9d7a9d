"""Joining a Ray cluster, or starting Ray embedded: shared by rendering and training."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

from .errors import VidstyleError


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), else start Ray embedded. True if we started it."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        # Workers on other nodes import vidstyle from the driver's copy; torch and av must be installed there.
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                 logging_level=logging.WARNING)
        return False
    ray.init(include_dashboard=False, logging_level=logging.WARNING)
    return True


def pool_shape(workers: int | None, device: str) -> tuple[int, float, float, str]:
    """(workers, CPUs each, GPUs each, device) from what the cluster offers: one GPU per worker when it
    has GPUs, else its CPUs split between the workers. Rendering and training size their pools alike."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    use_gpu = gpus > 0 and device in ("auto", "cuda")
    if device == "cuda" and not gpus:
        raise VidstyleError("--device cuda asked for, but the Ray cluster has no GPU; use --device cpu or auto.")
    if use_gpu:
        n = workers or gpus
        return n, max(1, cpus // n), 1, "cuda"
    n = workers or max(1, cpus // 2)
    return n, max(1, cpus // n), 0, "cpu"
