"""Where videos, manifests and outputs live: a local path, or a URL that an fsspec filesystem serves
(`s3://bucket/key` with `pip install "vidstyle[s3]"`, `gs://` with `[gcs]`).

Everything that reads or writes a user's file by name goes through here, so a batch reads its inputs from
object storage and writes its outputs there with the same rules as on disk: nothing replaced that the batch
did not make (on S3 a create-only PUT, `If-None-Match: *`, so even a racing writer cannot be overwritten),
and an output appears whole or not at all (one PUT, or a multipart upload that is completed only once every
byte is there). S3 reads the standard AWS environment: credentials, `AWS_ENDPOINT_URL` for a non-AWS
endpoint (MinIO, Ceph, a test server), `AWS_DEFAULT_REGION`.

fsspec is imported only when a URL is used, so local work never needs it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vidstyle.errors import VidstyleError

#: fsspec protocol -> the extra that installs it
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def is_url(location: str | Path) -> bool:
    """A location with a scheme (`s3://...`); `file://` and plain paths are local."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def local(location: str | Path) -> Path:
    return Path(str(location).removeprefix("file://"))


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL; one line naming the extra when its package is missing."""
    protocol: str = url.split("://", 1)[0]
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        extra = EXTRAS.get(protocol, "s3")
        raise VidstyleError(
            f'{url}: URLs need fsspec and a filesystem for {protocol}://; pip install "vidstyle[{extra}]".'
        ) from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        known = EXTRAS.get(protocol)
        hint = f'pip install "vidstyle[{known}]"' if known else "install the fsspec filesystem for it"
        raise VidstyleError(f"{url}: cannot use {protocol}:// ({exc}); {hint}.") from None


def _url(fs: Any, path: str) -> str:
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    return f"{protocol}://{path}"


def join(folder: str | Path, name: str) -> str:
    """`name` (relative, or absolute/URL which wins) under `folder`, kept as the user would write it."""
    if is_url(name) or os.path.isabs(name):
        return name
    if is_url(folder):
        return posixpath.join(str(folder).rstrip("/"), name)
    return str(local(folder) / name)


def parent(location: str | Path) -> str:
    text = str(location)
    if is_url(text):
        scheme, rest = text.split("://", 1)
        return f"{scheme}://{posixpath.dirname(rest.rstrip('/'))}"
    return str(local(text).parent)


def name(location: str | Path) -> str:
    return posixpath.basename(str(location).rstrip("/")) if is_url(location) else local(location).name


def inside(folder: str | Path, location: str | Path) -> bool:
    """Whether `location` lies strictly inside `folder`: `..`, absolute paths and (locally) symlinks resolved."""
    if is_url(folder) or is_url(location):
        if not (is_url(folder) and is_url(location)):
            return False
        root = posixpath.normpath(str(folder).split("://", 1)[1]) + "/"
        path = posixpath.normpath(str(location).split("://", 1)[1])
        same_scheme = str(folder).split("://", 1)[0] == str(location).split("://", 1)[0]
        return same_scheme and path.startswith(root) and ".." not in path.split("/")
    resolved = Path(os.path.realpath(local(folder)))
    return resolved in Path(os.path.realpath(local(location))).parents


def exists(location: str | Path) -> bool:
    if is_url(location):
        fs, path = filesystem(str(location))
        return bool(fs.exists(path))
    return os.path.lexists(local(location))


def is_dir(location: str | Path) -> bool:
    if is_url(location):
        fs, path = filesystem(str(location))
        return bool(fs.isdir(path))
    return local(location).is_dir()


def version(location: str | Path) -> tuple[int, str]:
    """(size, a token that changes when the content does): mtime locally, the ETag (else the modification
    time) in object storage. Part of an output's fingerprint, so a changed input is redone."""
    if is_url(location):
        fs, path = filesystem(str(location))
        try:
            info = fs.info(path)
        except FileNotFoundError:
            raise VidstyleError(f"{location}: no such file.") from None
        token = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") or ""
        return int(info.get("size") or 0), str(token)
    stat = local(location).stat()
    return stat.st_size, str(stat.st_mtime_ns)


@contextlib.contextmanager
def opened(location: str | Path) -> Iterator[str | IO[bytes]]:
    """What PyAV opens: a local path as it is, a URL as a seekable file that reads byte ranges, so a worker
    decoding one segment of a long video fetches that segment's bytes, not the whole object."""
    if not is_url(location):
        yield str(local(location))
        return
    fs, path = filesystem(str(location))
    try:
        handle = fs.open(path, "rb")
    except FileNotFoundError:
        raise VidstyleError(f"{location}: no such file.") from None
    with handle:
        yield handle


def list_folder(folder: str | Path, suffixes: set[str]) -> Iterator[str]:
    """The files directly in `folder` whose suffix is in `suffixes`, by name. Only names are held: a folder
    of 100,000 videos costs a few MB of names, and no file is opened."""
    if is_url(folder):
        fs, path = filesystem(str(folder))
        names = sorted(
            entry["name"]
            for entry in fs.ls(path, detail=True)
            if entry.get("type") == "file" and posixpath.splitext(entry["name"])[1].lower() in suffixes
        )
        for entry_name in names:
            yield _url(fs, entry_name)
        return
    here = local(folder)
    for entry_name in sorted(os.listdir(here)):
        file = here / entry_name
        if file.suffix.lower() in suffixes and file.is_file():
            yield str(file)


def lines(location: str | Path) -> Iterator[str]:
    """The lines of a text file, read as they are needed: a manifest of 100,000 rows is never held whole."""
    try:
        if is_url(location):
            fs, path = filesystem(str(location))
            with fs.open(path, "rt", encoding="utf-8", newline="") as f:
                yield from f
        else:
            with open(local(location), encoding="utf-8", newline="") as f:
                yield from f
    except UnicodeDecodeError:
        raise VidstyleError(f"{location} is not UTF-8 text.") from None
    except FileNotFoundError:
        raise VidstyleError(f"{location} not found.") from None


def read_text(location: str | Path, limit: int = 1 << 20) -> str | None:
    """The start of a small text file (None if absent), to recognise one of our own summaries."""
    try:
        if is_url(location):
            fs, path = filesystem(str(location))
            with fs.open(path, "rb") as f:
                data = f.read(limit)
        else:
            with open(local(location), "rb") as f:
                data = f.read(limit)
    except (FileNotFoundError, IsADirectoryError):
        return None
    return data.decode("utf-8", errors="replace")


def upload(source: Path, url: str, replace: bool, metadata: dict[str, str] | None = None) -> None:
    """Put a finished local file at `url`. Unless `replace`, the write is create-only where the store
    supports it (S3's `If-None-Match: *`), so an object that appeared meanwhile is kept: FileExistsError."""
    fs, path = filesystem(url)
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    kwargs: dict[str, Any] = {}
    if "s3" in protocols:
        kwargs["Metadata"] = metadata or {}
        if not replace:
            kwargs["mode"] = "create"
    elif not replace and fs.exists(path):
        raise FileExistsError(url)
    try:
        fs.put_file(str(source), path, **kwargs)
    except OSError as exc:
        if not replace and _precondition_failed(exc):
            raise FileExistsError(url) from None
        raise


def _precondition_failed(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''}"
    return isinstance(exc, FileExistsError) or "PreconditionFailed" in text or "412" in text


def remove(location: str | Path) -> None:
    if is_url(location):
        fs, path = filesystem(str(location))
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)
    else:
        local(location).unlink(missing_ok=True)
