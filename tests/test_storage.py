"""Inputs, manifests and outputs in object storage, against a real S3 protocol server: moto's server mode,
started here on a free loopback port (as s3fs's own tests do) and stopped at the end. No client is mocked:
vidstyle talks HTTP to it through s3fs/botocore exactly as it would to AWS, with the standard environment
(`AWS_ENDPOINT_URL`, credentials, region)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidstyle import storage
from vidstyle.cluster import free_port
from vidstyle.media.synth import ClipSpec, make_clip

from .helpers import frame_times, vidstyle

moto_server = pytest.importorskip("moto.server", reason="the S3 tests need moto[server] (pip install -e '.[test]')")
pytest.importorskip("s3fs", reason="the S3 tests need vidstyle[s3] (s3fs)")

BUCKET = "vidstyle-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A fresh S3 server on loopback with one bucket; yields the environment that points a client at it."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def put(local: Path, url: str) -> None:
    storage.upload(local, url, replace=True)


def get(url: str, local: Path) -> Path:
    fs, path = storage.filesystem(url)
    fs.invalidate_cache()
    fs.get_file(path, str(local))
    return local


def test_create_only_upload_keeps_an_object_that_is_there(s3, tmp_path):
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"the user's")
    second.write_bytes(b"ours")
    url = f"s3://{BUCKET}/keep/x.bin"
    storage.upload(first, url, replace=False)
    with pytest.raises(FileExistsError):
        storage.upload(second, url, replace=False)
    assert get(url, tmp_path / "back.bin").read_bytes() == b"the user's"
    storage.upload(second, url, replace=True)
    assert get(url, tmp_path / "back2.bin").read_bytes() == b"ours"
    assert storage.version(url)[0] == 4


@pytest.mark.slow
def test_a_batch_from_and_to_s3_is_exact_resumable_and_keeps_others_objects(s3, tiny_style, tmp_path):
    local = tmp_path / "videos"
    local.mkdir()
    for i in range(2):
        clip = make_clip(local / f"clip{i}.mp4", ClipSpec(seconds=1.0 + 0.2 * i))
        put(clip, f"s3://{BUCKET}/videos/clip{i}.mp4")
    mine = make_clip(tmp_path / "mine.mp4", ClipSpec(seconds=0.6))
    put(mine, f"s3://{BUCKET}/out/clip1.tiny.mp4")  # the user's own object at an output's key
    env = {**os.environ, **s3}
    args = ("batch", f"s3://{BUCKET}/videos/", "--style", tiny_style.path, "-o", f"s3://{BUCKET}/out/", "--workers", 1)

    first = vidstyle(*args, env=env)
    assert first.returncode == 1, first.stderr[-3000:]
    assert "1 done, 0 skipped, 1 failed" in first.stdout, first.stdout
    rows = json.loads(get(f"s3://{BUCKET}/out/batch-summary.json", tmp_path / "summary.json").read_text())
    assert [(Path(r["video"]).name, r["status"]) for r in rows] == [("clip0.mp4", "done"), ("clip1.mp4", "failed")]
    assert "clip1.tiny.mp4 already exists and is not this batch's output" in rows[1]["error"]
    out = get(f"s3://{BUCKET}/out/clip0.tiny.mp4", tmp_path / "clip0.tiny.mp4")
    assert frame_times(out) == frame_times(local / "clip0.mp4")
    assert get(f"s3://{BUCKET}/out/clip1.tiny.mp4", tmp_path / "kept.mp4").read_bytes() == mine.read_bytes()
    fs, _ = storage.filesystem(f"s3://{BUCKET}")
    assert fs.metadata(f"{BUCKET}/out/clip0.tiny.mp4")["vidstyle-fingerprint"].startswith("vidstyle:")

    again = vidstyle(*args, env=env)
    assert "0 done, 1 skipped, 1 failed" in again.stdout, again.stdout

    forced = vidstyle(*args, "--overwrite", env=env)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "1 done, 1 skipped, 0 failed" in forced.stdout, forced.stdout
    out1 = get(f"s3://{BUCKET}/out/clip1.tiny.mp4", tmp_path / "clip1.tiny.mp4")
    assert frame_times(out1) == frame_times(local / "clip1.mp4")
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{BUCKET}/out/")) == [
        "batch-summary.csv",
        "batch-summary.json",
        "clip0.tiny.mp4",
        "clip1.tiny.mp4",
    ]  # no temporaries left in the bucket


@pytest.mark.slow
def test_render_reads_and_writes_urls(s3, tiny_style, tmp_path, clips):
    put(clips["plain"], f"s3://{BUCKET}/render/in.mp4")
    env = {**os.environ, **s3}
    target = f"s3://{BUCKET}/render/out.mp4"
    result = vidstyle("render", f"s3://{BUCKET}/render/in.mp4", "--style", tiny_style.path, "-o", target, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert frame_times(get(target, tmp_path / "out.mp4")) == frame_times(clips["plain"])
    again = vidstyle("render", f"s3://{BUCKET}/render/in.mp4", "--style", tiny_style.path, "-o", target, env=env)
    assert again.returncode == 1 and "already exists; pass --overwrite" in again.stderr, again.stderr
