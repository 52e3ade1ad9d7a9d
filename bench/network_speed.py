"""How fast the style network runs, and how close that is to what the processor can do, measured in one run.

    python bench/network_speed.py                       # CPU: 720p, every variant, against sgemm peak
    python bench/network_speed.py --device cuda --sizes 1080 720 360 --batch 1 8

For each variant (precision, memory layout, torch.compile) it prints frames per second, the network's
achieved GFLOP/s (FLOPs counted by PyTorch's FlopCounterMode on the same input) and that as a share of the
matrix-multiply peak measured first in the same process, so the ratios hold on a noisy machine. The input
is what `stylize` feeds the network: the frame with its reflected margin, padded to a multiple of 4.
Random weights: speed does not depend on what the network learnt.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch.utils.flop_counter import FlopCounterMode

from vidstyle.models.transformer import EDGE_MARGIN, STRIDE_MULTIPLE, TransformerNet

SIZES = {360: (360, 640), 720: (720, 1280), 1080: (1080, 1920)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(run: Callable[[], object], device: torch.device, seconds: float) -> float:
    """Seconds per call: two warm-up calls (compilation, autotuning), then calls for about `seconds`."""
    for _ in range(2):
        run()
    sync(device)
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        run()
        calls += 1
        sync(device)
    return (time.perf_counter() - start) / calls


def matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float) -> float:
    """GFLOP/s of a large square matrix product: the ceiling the convolutions are judged against."""
    n = 2048 if device.type == "cpu" else 8192
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    return 2 * n**3 / timed(lambda: a @ b, device, seconds) / 1e9


def network_input(height: int, width: int, batch: int, device: torch.device) -> torch.Tensor:
    m = EDGE_MARGIN
    h = height + 2 * m + (-(height + 2 * m) % STRIDE_MULTIPLE)
    w = width + 2 * m + (-(width + 2 * m) % STRIDE_MULTIPLE)
    return torch.rand(batch, 3, h, w, device=device) * 255


def gflop(net: torch.nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        net(x[:1])
    return counter.get_total_flops() / 1e9


def variants(device: torch.device) -> dict[str, dict]:
    if device.type == "cpu":
        return {
            "fp32": {},
            "fp32 channels-last": {"layout": torch.channels_last},
            "bf16 channels-last": {"layout": torch.channels_last, "amp": torch.bfloat16},
            "fp32 channels-last compiled": {"layout": torch.channels_last, "compile": True},
        }
    return {
        "fp32 (no TF32)": {},
        "tf32 channels-last": {"layout": torch.channels_last, "tf32": True},
        "fp16 channels-last": {"layout": torch.channels_last, "half": torch.float16},
        "bf16 channels-last": {"layout": torch.channels_last, "half": torch.bfloat16},
        "fp16 channels-last compiled": {"layout": torch.channels_last, "half": torch.float16, "compile": True},
    }


def runner(
    base: int, device: torch.device, x: torch.Tensor, layout=None, amp=None, half=None, tf32=False, compile=False
) -> Callable[[], object]:
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = device.type == "cuda"
    net = TransformerNet(base).to(device).eval()
    if layout is not None:
        net, x = net.to(memory_format=layout), x.contiguous(memory_format=layout)
    if half is not None:
        net, x = net.to(half), x.to(half)
    model = torch.compile(net) if compile else net
    context = torch.autocast(device.type, amp) if amp is not None else nullcontext()

    def run():
        with torch.inference_mode(), context:
            return model(x)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[720], choices=sorted(SIZES))
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--base", type=int, nargs="+", default=[32, 16], help="network widths (32 full, 16 lite)")
    parser.add_argument("--only", nargs="*", help="variant names to run (default all)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    peaks = {"fp32": matmul_peak(device, torch.float32, args.seconds)}
    if device.type == "cuda":
        peaks["fp16"] = matmul_peak(device, torch.float16, args.seconds)
    where = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(
        f"device {device} ({where}), "
        f"torch {torch.__version__}; matmul peak " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
    )
    print(f"{'variant':32} {'size':>5} {'base':>4} {'batch':>5} {'fps':>8} {'GFLOP/s':>9} {'% peak':>7} {'x first':>7}")
    for size in args.sizes:
        for base in args.base:
            for batch in args.batch:
                x = network_input(*SIZES[size], batch, device)
                work = gflop(TransformerNet(base).to(device).eval(), x)
                first = None
                for name, settings in variants(device).items():
                    if args.only and name not in args.only:
                        continue
                    try:
                        seconds = timed(runner(base, device, x, **settings), device, args.seconds)
                    except Exception as exc:  # a variant this build cannot run (no compiler, no bf16 kernels)
                        print(f"{name:32} {size:>5} {base:>4} {batch:>5}  failed: {type(exc).__name__}: {exc}"[:160])
                        continue
                    fps = batch / seconds
                    rate = work * fps
                    peak = peaks["fp16"] if settings.get("half") is not None else peaks["fp32"]
                    first = first or fps
                    print(
                        f"{name:32} {size:>5} {base:>4} {batch:>5} {fps:8.2f} {rate:9.0f} {100 * rate / peak:6.1f}% "
                        f"{fps / first:7.2f}",
                        flush=True,
                    )
                print(f"  ({work:.0f} GFLOP per frame at {size}p for base {base})")


if __name__ == "__main__":
    main()
