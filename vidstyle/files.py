"""Temporary files beside their target, renamed into place when complete.

Every temporary names its owner: `PREFIX PID@HOST-XXXXXXXX SUFFIX`, HOST a short hash of the host name.
A later run removes what a killed run left (SIGKILL gives no chance to clean up) by reading that name
back, never by a glob built from the user's file names (`clip [1]` is a glob class that matches
`clip 1`), and only where the owner is a process of this host that no longer exists: the working files
of a run that is still alive, here or on another host sharing the folder, are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from vidstyle.errors import VidstyleError

#: What `tempfile` puts after our prefix: its random characters.
_RANDOM = set("abcdefghijklmnopqrstuvwxyz0123456789_")
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _owner_tag() -> str:
    return f"{os.getpid()}@{_HOST}-"


def temporary_beside(folder: Path, prefix: str, suffix: str) -> Path:
    """An empty file in `folder` (so the final rename stays on one filesystem), named after its owner (see
    the module), with the permissions any new file there would get: mkstemp makes it owner-only (0600),
    which a rename would pass on to the user's video or image."""
    fd, name = tempfile.mkstemp(prefix=prefix + _owner_tag(), suffix=suffix, dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
    finally:
        os.close(fd)
    return Path(name)


def scratch_beside(folder: Path, prefix: str) -> Path:
    """An empty folder in `folder`, named after its owner as `temporary_beside` names files."""
    return Path(tempfile.mkdtemp(prefix=prefix + _owner_tag(), dir=folder))


def _owner(name: str, prefix: str, suffix: str) -> tuple[int, str] | None:
    """(pid, host tag) of a temporary that `temporary_beside(_, prefix, suffix)` could have named `name`,
    else None. Plain string comparison: the user's names are never a pattern."""
    if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
        return None
    owner, dash, rand = name[len(prefix) : len(name) - len(suffix)].partition("-")
    pid, at, host = owner.partition("@")
    if not (dash and at and pid.isascii() and pid.isdigit() and rand and set(rand) <= _RANDOM):
        return None
    return int(pid), host


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_dead_temporaries(folder: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove the temporaries (files or folders) in `folder` that `temporary_beside`/`scratch_beside` made
    with `prefix` and `suffix` for a process of this host that has ended; returns what was removed. A reused
    pid keeps a dead run's files (they are left, never a live run's removed)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        owner = _owner(entry.name, prefix, suffix)
        if owner is None or owner[1] != _HOST or _alive(owner[0]):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def move_into_place(tmp: Path, target: Path, replace: bool) -> None:
    """Rename the finished `tmp` to `target`. Unless `replace`, a `target` that exists by now, even one that
    appeared after the run checked at its start (another process writing the same new file), is kept and
    FileExistsError raised: a hard link fails atomically if the name is taken, and the temporary's name is
    then dropped. Filesystems without hard links fall back to a check just before the rename."""
    if replace:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network filesystems)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def refuse_existing(target: Path, overwrite: bool = False) -> None:
    """Nothing lost: a file at `target` is never replaced unless the user said --overwrite."""
    if os.path.lexists(target) and not overwrite:
        raise VidstyleError(f"{target} already exists; pass --overwrite to replace it.")


def write_atomic(target: Path, write: Callable[[Path], object], replace: bool = True) -> Path:
    """`write(tmp)` into a temporary of this process beside `target` (same extension, so writers that go by
    it still can), renamed into place only once `write` returned: a reader, or a run killed half way, never
    sees half a file, and two writers never share a temporary. Unless `replace`, an existing `target` is
    kept (FileExistsError, as `move_into_place`)."""
    target = Path(target)
    tmp = temporary_beside(target.parent, f".{target.stem}.tmp-", target.suffix)
    try:
        write(tmp)
        move_into_place(tmp, target, replace)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def human_size(n: int) -> str:
    """Bytes as a person reads them: 1.2 MB, 340 kB."""
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@contextlib.contextmanager
def space_checked(folder: Path, needed: int | Callable[[], int]) -> Iterator[None]:
    """Turn a full disk (ENOSPC, or EDQUOT: a quota) met while writing into `folder` into one line that
    names the folder and about how much space the job needs there (`needed`, or what it says when the disk
    fills: a batch knows its videos' sizes only as they are planned), instead of FFmpeg's traceback."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        try:
            free = f"{human_size(shutil.disk_usage(folder).free)} free"
        except OSError:
            free = "free space unknown"
        raise VidstyleError(
            f"no space left in {folder} ({free}): this needs about "
            f"{human_size(needed() if callable(needed) else needed)} there; "
            "free some space or write elsewhere."
        ) from None
