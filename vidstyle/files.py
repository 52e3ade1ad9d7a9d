"""Temporary files beside their target, renamed into place when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temporary_beside(folder: Path, prefix: str, suffix: str) -> Path:
    """An empty file in `folder` (so the final rename stays on one filesystem), with the permissions any
    new file there would get: mkstemp makes it owner-only (0600), which a rename would pass on to the
    user's video or image."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
    finally:
        os.close(fd)
    return Path(name)
