"""The compiled network path: same pictures as eager, chosen only when it pays, and never a dead end."""

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vidstyle.acceleration import fast_stylizer, gflop_per_frame, run_padded, should_compile
from vidstyle.errors import VidstyleError
from vidstyle.render import RenderOptions, render
from vidstyle.transformer import stylize

from .conftest import tiny_network
from .helpers import audio_packets, frame_times, frames_rgb


def test_flops_counted_on_the_meta_device_match_a_real_forward_pass():
    net, frame = tiny_network(), torch.randint(0, 256, (1, 50, 70, 3), dtype=torch.uint8)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        stylize(net, frame)
    assert gflop_per_frame(4, 1, 50, 70) == pytest.approx(counter.get_total_flops() / 1e9)
    # Johnson's network at 720p, margin included: the issue's ~280 GFLOP per frame
    assert 250 < gflop_per_frame(32, 5, 720, 1280) < 300


def test_auto_compiles_only_jobs_that_repay_the_compile_time():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not should_compile("auto", cpu, gflop_per_frame(4, 1, 120, 160) * 50)  # the tests' clips
    assert should_compile("auto", cpu, gflop_per_frame(32, 5, 720, 1280) * 250)  # 10 s of 720p
    assert not should_compile("auto", cuda, gflop_per_frame(32, 5, 720, 1280) * 250)  # a GPU does it in seconds
    assert should_compile("on", cuda, 0) and not should_compile("off", cpu, 1e9)
    with pytest.raises(VidstyleError, match="--compile must be one of auto, on, off"):
        should_compile("fast", cpu, 0)


def test_compiled_network_paints_what_eager_paints_even_for_a_short_batch():
    net, cpu = tiny_network(), torch.device("cpu")
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 60, 90, 3), dtype=np.uint8))
    with torch.inference_mode():
        eager = stylize(net, frames)
        compiled = run_padded(fast_stylizer(tiny_network(), cpu, None, compile=True), frames, 4, pad=True)
    assert compiled.shape == eager.shape
    assert (compiled.int() - eager.int()).abs().max() <= 1  # rounding of a fused kernel, nothing more


def test_a_machine_that_cannot_compile_falls_back_to_eager_with_a_warning(monkeypatch, tmp_path):
    from torch._dynamo import reset
    from torch._inductor import config

    reset()
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))  # nothing cached: the compiler must run
    monkeypatch.setattr(config, "fx_graph_cache", False)
    monkeypatch.setattr(config.cpp, "cxx", (str(tmp_path / "no-such-c++"),))
    net, frames = tiny_network(), torch.randint(0, 256, (2, 40, 40, 3), dtype=torch.uint8)
    run = fast_stylizer(tiny_network(), torch.device("cpu"), None, compile=True)
    with torch.inference_mode(), pytest.warns(UserWarning, match="torch.compile failed .* running the network "
                                              "uncompiled"):
        first = run(frames)
    with torch.inference_mode():
        assert (first.int() - stylize(net, frames).int()).abs().max() <= 1  # channels-last rounds differently
        assert torch.equal(run(frames), first)  # later batches go straight to eager
    reset()


def test_render_with_the_compiled_network_keeps_every_frame_and_the_audio(clips, tiny_style, tmp_path):
    eager, compiled = tmp_path / "eager.mp4", tmp_path / "compiled.mp4"
    render(clips["plain"], eager, tiny_style, RenderOptions(segment_seconds=0.5, compile="off"))
    report = render(clips["plain"], compiled, tiny_style, RenderOptions(segment_seconds=0.5, compile="on"))
    assert report.frames_out == 50 and frame_times(compiled) == frame_times(clips["plain"])
    assert audio_packets(compiled) == audio_packets(clips["plain"])
    a, b = (np.stack(frames_rgb(p)).astype(int) for p in (eager, compiled))
    assert np.abs(a - b).mean() < 1.0  # the same pictures, up to x264 and rounding
