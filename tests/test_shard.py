"""The Ray driver: same bytes as the single-process path, and faults that a real cluster has."""

import sys

import pytest
import ray

from vidstyle.cluster import shape
from vidstyle.errors import VidstyleError
from vidstyle.media.synth import ClipSpec, make_clip
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions

from .helpers import audio_packets, frame_times, on_ray, run_in_session, same_pictures


def workers() -> list[str]:
    return [name for name in ray.util.list_named_actors() if name.startswith("vidstyle-")]


#: crf 0 is x264's lossless mode: the decoded output is exactly what the pipeline handed the encoder, so the
#: two drivers can be compared frame for frame even where x264's own bytes vary from run to run (see
#: `same_pictures`).
OPTIONS = dict(segment_seconds=0.4, crf=0)  # three segments or more (a tail under 0.2 s joins the one before)


@pytest.mark.parametrize("clip", ["plain", "vfr", "rotated"])
def test_sharded_render_gives_the_single_process_frames(clips, tiny_style, tmp_path, embedded_ray, clip):
    single, sharded = tmp_path / "single.mp4", tmp_path / "sharded.mp4"
    render_recipe(clips[clip], single, tiny_style, RenderOptions(**OPTIONS))
    report = on_ray(clips[clip], sharded, tiny_style, RenderOptions(**OPTIONS), ShardOptions(workers=2))
    assert report.segments >= 3
    assert same_pictures(sharded, single)
    assert frame_times(sharded) == frame_times(clips[clip])
    assert audio_packets(sharded) == audio_packets(clips[clip])
    assert workers() == []  # the pool is gone after the job


@pytest.mark.slow
def test_worker_killed_mid_segment_is_retried_and_output_stays_exact(tiny_style, tmp_path, embedded_ray):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=6, width=320, height=240, gop=25))
    single, sharded = tmp_path / "single.mp4", tmp_path / "sharded.mp4"
    render_recipe(clip, single, tiny_style, RenderOptions(segment_seconds=1.0, crf=0))
    killed: list[str] = []

    def kill_one_busy_worker(_: int) -> None:
        if not killed:  # frames are being reported, so every worker is inside a segment
            killed.append(workers()[0])
            ray.kill(ray.get_actor(killed[0]), no_restart=True)

    report = on_ray(
        clip,
        sharded,
        tiny_style,
        RenderOptions(segment_seconds=1.0, crf=0),
        ShardOptions(workers=2),
        progress=kill_one_busy_worker,
    )
    assert killed and report.frames_out == 150
    assert same_pictures(sharded, single)
    assert frame_times(sharded) == frame_times(clip) and audio_packets(sharded) == audio_packets(clip)


def test_segment_failing_twice_fails_the_job_and_writes_nothing(tiny_style, tmp_path, embedded_ray):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=6, width=320, height=240, gop=25))
    killed: list[str] = []

    def kill_every_busy_worker(_: int) -> None:  # a node that keeps losing its workers mid-segment
        for name in workers():
            try:
                ray.kill(ray.get_actor(name), no_restart=True)
                killed.append(name)
            except ValueError:
                pass

    with pytest.raises(VidstyleError, match=r"segment \d+ failed 2 times, last because its worker died.*no output"):
        on_ray(
            clip,
            tmp_path / "out.mp4",
            tiny_style,
            RenderOptions(segment_seconds=1.0),
            ShardOptions(workers=2),
            progress=kill_every_busy_worker,
        )
    assert len(killed) >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.mark.parametrize("kind", ["network", "code"])
def test_stabilised_sharded_render_gives_the_single_process_frames(clips, tiny_style, tmp_path, embedded_ray, kind):
    """Segments lead in by a few frames, so the stabiliser's state at each seam is what one process has; with
    a style code too (its network adds a grain pattern to every frame)."""
    from vidstyle.models.styles import resolve_style
    from vidstyle.temporal.stabilizer import StabilizeOptions

    style = tiny_style if kind == "network" else resolve_style("muse")
    options = RenderOptions(
        **OPTIONS, stabilize=StabilizeOptions(strength=0.6, lead=6), max_side=None if kind == "network" else 160
    )
    single, sharded = tmp_path / "single.mp4", tmp_path / "sharded.mp4"
    render_recipe(clips["plain"], single, style, options)
    report = on_ray(clips["plain"], sharded, style, options, ShardOptions(workers=2))
    assert report.segments >= 3 and report.frames_out == 50
    assert same_pictures(sharded, single)
    assert frame_times(sharded) == frame_times(clips["plain"])


@pytest.mark.parametrize(
    "resources, workers, share, expected",
    [
        ({"CPU": 16, "GPU": 1}, None, True, (4, 4, 1 / 4, "cuda")),  # an H100 node: 4 encoders share the GPU
        ({"CPU": 64, "GPU": 8}, None, True, (16, 4, 1 / 2, "cuda")),
        ({"CPU": 16, "GPU": 2}, 3, True, (3, 5, 1 / 2, "cuda")),  # 2 + 1: shares of 1/2 so that all 3 fit
        ({"CPU": 2, "GPU": 1}, None, True, (1, 2, 1, "cuda")),  # too few CPUs to share: one actor, whole GPU
        ({"CPU": 16, "GPU": 1}, None, False, (1, 16, 1, "cuda")),  # training: one replica per GPU
        ({"CPU": 16}, None, True, (8, 2, 0, "cpu")),
    ],
)
def test_render_actors_share_each_gpu_so_enough_encoders_keep_it_busy(resources, workers, share, expected):
    assert shape(resources, workers, "auto", share) == expected


SHARED_GPU = """
import ray
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.pipeline.executors import ShardOptions
from vidstyle.pipeline.ray_pool import RayPool
ray.init(address="local", num_cpus=12, num_gpus=1, include_dashboard=False)  # a GPU Ray believes in
pool = RayPool(RenderOptions(device="auto"), ShardOptions(), most=10, gflop=0.0)
ray.get([actor.__ray_ready__.remote() for actor in pool.actors], timeout=240)
print("ready", len(pool.actors), round(pool.gpus, 4), ray.available_resources().get("GPU", 0.0))
pool.close()
"""


@pytest.mark.slow
def test_ray_places_every_actor_of_a_shared_gpu():
    """Shares of 1/3 GPU: Ray must place all three actors on the one GPU, none left pending. The GPU is
    declared, not real (no CUDA here), so the actors are only started, not given frames."""
    out = run_in_session([sys.executable, "-c", SHARED_GPU], timeout=300)  # and the Ray it starts
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ready 3 0.3333 0.0" in out.stdout, out.stdout


def test_in_process_a_broken_segment_fails_its_video_and_a_full_disk_ends_the_job(monkeypatch, tmp_path):
    """The driver's routing of errors (the real full disk is tests/test_files.py): one video's failure
    drops its remaining segments and the next video goes on; ENOSPC is not a video's failure."""
    import errno
    from types import SimpleNamespace

    from vidstyle.frames import Filter
    from vidstyle.pipeline import executors
    from vidstyle.pipeline.driver import drive
    from vidstyle.pipeline.executors import InProcess
    from vidstyle.pipeline.segments import Segment
    from vidstyle.pipeline.units import Plan, VideoTask

    segments = [Segment(0, None, 10, 10), Segment(1, 10, None, 10)]
    painted: list[tuple[str, int]] = []

    def plan(task, options):
        return Plan(frames=20, segments=segments), SimpleNamespace(source=task.source, target=task.target)

    def paint(job, segment, *args):
        painted.append((job.source, segment.index))
        if job.source == "full":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise RuntimeError(f"cannot paint {job.source}")

    monkeypatch.setattr(executors, "plan_video", plan)
    monkeypatch.setattr(executors, "paint_segment", paint)
    executor = InProcess(RenderOptions(device="cpu", compile="off"), 0.0)
    executor.filters["s"] = Filter(lambda frames: frames)
    ended = []
    tasks = [VideoTask(i, name, str(tmp_path / f"{name}.mp4"), "s") for i, name in enumerate("ab")]
    drive(tasks, executor, ended.append)
    assert [(e.task.source, e.status, e.error) for e in ended] == [
        ("a", "failed", "segment 1 failed, last because RuntimeError: cannot paint a"),
        ("b", "failed", "segment 1 failed, last because RuntimeError: cannot paint b"),
    ]
    assert painted == [("a", 0), ("b", 0)]  # a's second segment was dropped with its video
    with pytest.raises(OSError, match="No space left"):
        drive([VideoTask(2, "full", str(tmp_path / "full.mp4"), "s")], executor, ended.append)
    assert len(ended) == 2
    executor.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the scratch folders went with their videos
