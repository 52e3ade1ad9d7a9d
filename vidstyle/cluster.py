"""Joining a Ray cluster, or starting Ray embedded: shared by rendering and training."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray


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
