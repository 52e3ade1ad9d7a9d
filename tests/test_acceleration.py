"""The compiled network path: same pictures as eager, chosen only when it pays, and never a dead end."""

import os
import sys

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vidstyle.errors import VidstyleError
from vidstyle.media.synth import scene
from vidstyle.models import arbitrary
from vidstyle.models.acceleration import (
    cpu_has_bf16,
    fast_stylizer,
    gflop_per_frame,
    network_dtype,
    run_padded,
    should_compile,
)
from vidstyle.models.transformer import stylize
from vidstyle.pipeline.render import render_recipe
from vidstyle.pipeline.segments import RenderOptions
from vidstyle.pipeline.stylizers import CodeRecipe, frame_gflop

from .helpers import audio_packets, frame_times, frames_rgb, run_in_session, tiny_network


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
    # 5000 GFLOP: about 100 s eager in fp32, pays for compiling; about 33 s in bf16, does not
    assert should_compile("auto", cpu, 5000, "fp32") and not should_compile("auto", cpu, 5000, "bf16")
    # the arbitrary network runs no faster compiled, so no clip is long enough
    recipe = CodeRecipe.of(np.zeros(arbitrary.CODE_SIZE), "zeros")
    assert frame_gflop(recipe, 2160, 3840, None) == 0 and not should_compile("auto", cpu, 0, "fp32")
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


FALLBACK = """
import copy, warnings, torch
from vidstyle.models.acceleration import fast_stylizer
from vidstyle.models.transformer import TransformerNet, stylize
torch.manual_seed(0)
net, frames = TransformerNet(4, 1).eval(), torch.randint(0, 256, (2, 40, 40, 3), dtype=torch.uint8)
run = fast_stylizer(copy.deepcopy(net), torch.device("cpu"), None, compile=True)
with torch.inference_mode(), warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    first = run(frames)
    eager = stylize(net, frames)
    again = run(frames)
print("warned:", [str(w.message) for w in caught if "torch.compile failed" in str(w.message)])
print("max diff:", (first.int() - eager.int()).abs().max().item(), "same again:", torch.equal(first, again))
"""


def test_a_machine_that_cannot_compile_falls_back_to_eager_with_a_warning(tmp_path):
    """In a fresh process whose C++ compiler is missing and whose Inductor cache is empty, as on a machine
    without build tools (in this process the failure would stay cached and break later compiles)."""
    env = {
        **os.environ,
        "CXX": str(tmp_path / "no-such-c++"),
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache"),
        "TORCHINDUCTOR_FX_GRAPH_CACHE": "0",
    }
    out = run_in_session([sys.executable, "-c", FALLBACK], env=env, timeout=300)  # and Inductor's compile workers
    assert out.returncode == 0, out.stderr[-2000:]
    warned = next(line for line in out.stdout.splitlines() if line.startswith("warned:"))
    assert "running the network uncompiled" in warned
    diff = out.stdout.split("max diff: ")[1].split()
    assert int(diff[0]) <= 1 and diff[3] == "True"  # eager both (channels-last rounds differently)


def test_auto_precision_is_fp16_on_tensor_core_gpus_bf16_on_bf16_cpus_and_fp32_elsewhere(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert network_dtype("auto", cpu) == (torch.bfloat16 if cpu_has_bf16() else torch.float32)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert network_dtype("auto", cpu) == torch.float32  # bf16 without the instructions is several times slower
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert network_dtype("auto", cpu) == torch.bfloat16
    assert network_dtype("bf16", cpu) == torch.bfloat16 and network_dtype("fp16", cuda) == torch.float16
    # the GPU generation is the only thing auto asks the driver; this machine has no GPU to ask
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))  # H100
    assert network_dtype("auto", cuda) == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (6, 1))  # GTX 1080: slow fp16
    assert network_dtype("auto", cuda) == torch.float32
    with pytest.raises(VidstyleError, match="--precision must be one of auto, fp32, fp16, bf16, not 'half'"):
        network_dtype("half", cpu)


@pytest.mark.parametrize("dtype, min_psnr", [(torch.float16, 45.0), (torch.bfloat16, 35.0)])
def test_half_precision_paints_what_fp32_paints_with_the_shipped_network(dtype, min_psnr):
    """The arbitrary-style network (real weights) with a real painting's code on a small frame (half
    precision is slow on a CPU): what the GPU default, fp16, changes."""
    import functools

    from vidstyle.models import arbitrary
    from vidstyle.pipeline.choice import painting_code

    frame = torch.from_numpy(scene(0.7, 96, 64).astype(np.uint8))[None]
    net = arbitrary.load().transfer
    code = torch.from_numpy(painting_code(arbitrary.shipped(), scene(3.0, 128, 128)))[None]
    step = functools.partial(arbitrary.stylize, code=code)
    with torch.inference_mode():
        full = arbitrary.stylize(net, frame, code=code).double()
        half = fast_stylizer(arbitrary.load().transfer, torch.device("cpu"), None, False, dtype, step)(frame)
    assert half.dtype == torch.uint8 and half.shape == frame.shape
    mse = ((half.double() - full) ** 2).mean().item()
    assert 10 * np.log10(255**2 / max(mse, 1e-12)) > min_psnr, 10 * np.log10(255**2 / max(mse, 1e-12))
    assert (half.double() - full).abs().max() <= 8


@pytest.mark.parametrize(
    "plain, fast, most",
    [
        # compiled: rounding of fused kernels (at most 1 level per pixel, test above), carried on by x264 and
        # the stabiliser; a wrong graph would be tens of levels off
        ({"compile": "off", "precision": "fp32"}, {"compile": "on", "precision": "fp32"}, 2.0),
        # fp16: the tiny random network amplifies rounding far more than a trained one does (test above)
        ({"precision": "fp32"}, {"precision": "fp16"}, 3.0),
    ],
)
def test_a_faster_network_keeps_every_frame_the_audio_and_the_pictures(plain, fast, most, clips, tiny_style, tmp_path):
    before, after = tmp_path / "plain.mp4", tmp_path / "fast.mp4"
    render_recipe(clips["plain"], before, tiny_style, RenderOptions(segment_seconds=0.5, **plain))
    report = render_recipe(clips["plain"], after, tiny_style, RenderOptions(segment_seconds=0.5, **fast))
    assert report.frames_out == 50 and frame_times(after) == frame_times(clips["plain"])
    assert audio_packets(after) == audio_packets(clips["plain"])
    a, b = (np.stack(frames_rgb(p)).astype(int) for p in (before, after))
    assert np.abs(a - b).mean() < most
    if "precision" in fast:
        assert np.abs(a - b).mean() > 0  # fp16 did run


def test_the_arbitrary_networks_upsampling_compiles():
    """`--compile on` with the arbitrary network: Inductor (torch 2.13) could not compile a replicate pad of a
    pixel-shuffled frame, which is what its second upsampling pads, and every render fell back to eager with
    a warning. The upsampling between the two, compiled (the whole network takes 40 s to compile here)."""
    import torch.nn.functional as F

    up1, up2, _ = arbitrary.load().transfer.float().expand
    x = torch.randn(2, 32, 6, 10)

    def upsample_twice(x):
        return arbitrary.upsample_conv(F.pixel_shuffle(arbitrary.upsample_conv(x, up1, shuffle=False), 2), up2)

    with torch.no_grad():
        compiled = torch.compile(upsample_twice, dynamic=False)(x)
        torch.testing.assert_close(compiled, upsample_twice(x), rtol=1e-4, atol=1e-4)


def test_the_grain_compiles_to_what_eager_adds():
    """`--compile on` traces `arbitrary.stylize` whole, the grain's tiling and crop included (a pattern made by
    a generator inside the graph would break it)."""
    net = arbitrary.load().transfer
    x = torch.rand(2, 3, 40, 56)

    def grained(x):
        return arbitrary.add_grain(x, net.grain, arbitrary.GRAIN)

    with torch.no_grad():
        torch.testing.assert_close(torch.compile(grained, dynamic=False)(x), grained(x))
