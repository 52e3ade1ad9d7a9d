"""Running the style network as fast as the device allows, decided once per job.

Measured by `bench/network_speed.py` on a 2-core CPU: Inductor (`torch.compile`) doubles the eager network at
720p, from about 32% to about 60% of the matmul peak. Half precision depends on the CPU: where it has bf16
dot-product instructions (AVX512-BF16, AMX) the arbitrary-style network runs 2.2-2.3x faster in bf16 and the
Johnson network 3x (`bench/video_speed.py`), while on a CPU without them bf16 is several times slower than
fp32 and fp16 tens of times, so `auto` takes bf16 only where the instructions are. Compiling costs some 30 s
per process and frame size (less once Inductor's on-disk cache is warm), so `auto` compiles only when the
job's network work is large enough to pay that back.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from vidstyle.models.transformer import TransformerNet, stylize
from vidstyle.options import CompileMode, Precision

Stylize = Callable[[torch.Tensor], torch.Tensor]  # uint8 NHWC batch -> uint8 NHWC batch

#: What an eager network sustains, roughly, in GFLOP/s, by device and precision: on a 2-core CPU 45 in fp32
#: (the Johnson network) and 157-183 in bf16 (the arbitrary network, `bench/video_speed.py`); a datacentre GPU
#: tens of thousands. Only used to guess whether compiling (COMPILE_SECONDS) pays for itself: with bf16's
#: rate a 960x720 clip of 217 frames no longer compiles (compiled, the arbitrary network ran no faster in
#: bf16, 12.6 against 11.7-12.8 fps, and the compile cost 8-30 s of a 39-s render).
EAGER_GFLOPS = {("cpu", torch.float32): 50.0, ("cpu", torch.bfloat16): 150.0, ("cuda", None): 20000.0}
COMPILE_SECONDS = 30.0
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: Tensor cores, which is what makes half precision fast, arrived with compute capability 7.0 (Volta); on
#: older cards fp16 arithmetic can be far slower than fp32.
TENSOR_CORES = (7, 0)


@functools.lru_cache(maxsize=64)
def gflop_per_frame(base: int, residual_blocks: int, height: int, width: int) -> float:
    """The network's cost for one frame of this size, margin and padding included; counted on the meta
    device, so nothing is computed (the first count in a process takes about 1.4 s, PyTorch loading its
    meta kernels)."""
    with torch.device("meta"):
        net = TransformerNet(base, residual_blocks)
        frame = torch.empty(1, height, width, 3, dtype=torch.uint8)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        stylize(net, frame)
    return counter.get_total_flops() / 1e9


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX), which is what makes bf16 fast on it.

    PyTorch reports this through private functions; a build without them is taken to have none."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def network_dtype(mode: str, device: torch.device) -> torch.dtype:
    """The precision the network runs in. `auto` is fp16 on a GPU with tensor cores, bf16 on a CPU with bf16
    instructions, and fp32 elsewhere.

    bf16 on such a CPU changes a frame by about 44-47 dB PSNR against fp32 (the shipped arbitrary network on
    real frames of cup.mp4 and fox.mp4, three paintings; a handful of pixels per thousand move more than 8
    levels), far less than the int8 release of the same network differs from fp32 (25-28 dB).

    fp16 rather than bf16 on GPUs: the two run at the same tensor-core rate, and fp16's longer mantissa
    keeps more of the picture (against fp32, on a real network and frame: PSNR 61 dB vs 54 dB, at most one
    level of 255 off); the activations stay far inside fp16's range, and normalisation statistics are
    accumulated in fp32 by PyTorch's kernels either way."""
    Precision.check(mode, "--precision")  # the choices are options.Precision's, defined once
    if mode != "auto":
        return PRECISIONS[mode]
    if device.type == "cuda" and torch.cuda.get_device_capability(device) >= TENSOR_CORES:
        return torch.float16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return torch.float32


def should_compile(mode: str, device: torch.device, gflop: float, precision: str = "auto") -> bool:
    """`on`/`off` as asked; `auto` when the eager network, in the precision it will run in, would take
    several times what compiling costs."""
    CompileMode.check(mode, "--compile")
    if mode != "auto":
        return mode == "on"
    dtype = network_dtype(precision, device) if device.type == "cpu" else None
    rate = EAGER_GFLOPS.get((device.type, dtype), EAGER_GFLOPS[("cpu", torch.float32)])
    eager_seconds = gflop / rate
    return eager_seconds > 2 * COMPILE_SECONDS


def fast_stylizer(
    net: torch.nn.Module,
    device: torch.device,
    work_size: tuple[int, int] | None,
    compile: bool,
    dtype: torch.dtype = torch.float32,
    step: Callable[..., torch.Tensor] = stylize,
) -> Stylize:
    """`stylize` with the network channels-last (a uint8 NHWC frame permuted to NCHW already is; for the
    arbitrary network see `arbitrary.StyleTransfer`) and in `dtype`, compiled whole when asked, so Inductor
    fuses the padding, crop and rounding with the convolutions. `step(net, frames, work_size=...)` is the
    network's stylise function: the Johnson network's `transformer.stylize` by default, or the arbitrary
    network's with its code bound.

    A compiled graph is specialised to one batch shape; callers pad short batches (`run_padded`). Where
    compiling fails (no C++ compiler on the machine, an unsupported build) the first call warns once and the
    eager network carries on, with the same output.
    """
    # Module.to takes memory_format (its docs say so), but torch's overloads for it omit the keyword
    net = net.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    eager = functools.partial(step, net, work_size=work_size)
    if not compile:
        return eager
    compiled = torch.compile(eager, dynamic=False)
    state: dict[str, Any] = {"first": True, "run": compiled}

    def run(frames: torch.Tensor) -> torch.Tensor:
        if not state["first"]:
            return state["run"](frames)
        state["first"] = False
        try:
            return compiled(frames)
        except Exception as exc:  # noqa: BLE001 - any compiler failure means: run eager
            warnings.warn(
                f"torch.compile failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "running the network uncompiled (pass --compile off to skip the attempt).",
                stacklevel=2,
            )
            state["run"] = eager
            return eager(frames)

    return run


def run_padded(run: Stylize, frames: torch.Tensor, batch_size: int, pad: bool) -> torch.Tensor:
    """`run` on a batch shorter than `batch_size`, padded with copies of its last frame when `pad` (a compiled
    graph then sees one shape only), the padding dropped from the result."""
    n = len(frames)
    if not pad or n == batch_size:
        return run(frames)
    filler = frames[-1:].expand(batch_size - n, *frames.shape[1:])
    return run(torch.cat([frames, filler]))[:n]
