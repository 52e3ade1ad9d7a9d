"""Generated clips with real audio: the shipped sample and every test fixture come from here.

A clip is a small scene with motion and colour (sky, sun, hills, a bouncing ball) and a chord on the audio
track, so a style network has edges and gradients to work on and the audio can be compared sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BT709 = 1  # AVCOL_SPC_BT709, AVCOL_PRI_BT709 and AVCOL_TRC_BT709 alike


@dataclass
class ClipSpec:
    seconds: float = 2.0
    width: int = 160
    height: int = 120
    fps: int | Fraction = 25  # a fraction for NTSC rates: Fraction(2997, 125) is 23.976
    audio: str | None = "aac"  # audio codec, or None for a silent clip
    vfr: bool = False  # alternate frame gaps of 1 and 2 frame periods
    rotation: int = 0  # display rotation (counter-clockwise degrees) stored in the container
    pix_fmt: str = "yuv420p"
    codec: str = "libx264"
    gop: int = 12  # keyframe interval in frames, so tests get several segments
    cut: float | None = None  # a shot change at this time: the scene turns to night, mirrored
    bframes: int | None = None  # B-frames between references (None: the codec's default); 0: decoded in pts order
    bt709: bool = False  # convert with the BT.709 matrix and tag the stream so (untagged: BT.601, as swscale does)
    patch: tuple[int, int, int] | None = None  # a flat colour in the bottom-left 32x32 corner, to measure

    def codec_options(self) -> dict[str, str]:
        options = {"g": str(self.gop)}
        if self.codec == "libx264":
            options["keyint_min"] = str(self.gop)
        if self.bframes is not None:
            options["bf"] = str(self.bframes)
        return options


def scene(t: float, width: int, height: int) -> np.ndarray:
    """The upright picture at time t: what a player should show."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    sky = y / height
    img[..., 0] = 80 + 120 * sky
    img[..., 1] = 140 + 60 * sky
    img[..., 2] = 230 - 60 * sky
    sun = (x - width * (0.2 + 0.1 * t)) ** 2 + (y - height * 0.25) ** 2 < (height * 0.12) ** 2
    img[sun] = (255, 210, 60)
    hills = y > height * (0.65 + 0.08 * np.sin(x / width * 6.0 + t))
    img[hills] = np.stack([40 + 0 * x, 150 - 0.3 * y, 60 + 0 * x], -1)[hills]
    bx = width * (0.5 + 0.35 * np.sin(2.1 * t))
    by = height * (0.55 - 0.3 * abs(np.sin(3.3 * t)))
    ball = (x - bx) ** 2 + (y - by) ** 2 < (height * 0.08) ** 2
    img[ball] = (220, 30, 50)
    stripes = (x // 8 + y // 8 + int(t * 10)) % 2 == 0
    img[(y < height * 0.08) & stripes] = (250, 250, 250)
    return np.clip(img, 0, 255).astype(np.uint8)


def chord(t: np.ndarray) -> np.ndarray:
    """A major chord with a slow tremolo; stereo, float32 in [-1, 1]."""
    tone = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    left = 0.4 * tone * (0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t))
    right = 0.4 * tone * (0.75 + 0.25 * np.cos(2 * np.pi * 0.5 * t))
    return np.stack([left, right]).astype(np.float32)


def frame_times(spec: ClipSpec) -> list[Fraction]:
    step = Fraction(1, spec.fps)
    times, t = [], Fraction(0)
    while t < spec.seconds:
        times.append(t)
        t += step * (2 if spec.vfr and len(times) % 2 == 0 else 1)
    return times


def make_clip(path: str | Path, spec: ClipSpec | None = None) -> Path:
    """Write a clip; the coded frames are turned so that a player honouring `rotation` shows the scene upright."""
    spec = spec or ClipSpec()
    path = Path(path)
    ticks = 2 if spec.vfr else 1
    # 600 ticks a frame leave room for any gap; an NTSC rate keeps its own tick (MPEG-4 Part 2 allows < 2^16)
    tb = Fraction(1, spec.fps * ticks * 600) if isinstance(spec.fps, int) else 1 / (spec.fps * ticks)
    with av.open(str(path), "w") as out:
        video = out.add_stream(spec.codec, rate=spec.fps, options=spec.codec_options())
        coded_w, coded_h = (spec.height, spec.width) if spec.rotation in (90, 270) else (spec.width, spec.height)
        video.width, video.height, video.pix_fmt = coded_w, coded_h, spec.pix_fmt
        video.time_base = tb
        video.codec_context.time_base = tb
        if spec.rotation:
            video.set_display_rotation(spec.rotation)
        if spec.bt709:
            cc = video.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = BT709, BT709, BT709, 1
        audio = None
        if spec.audio:
            audio = out.add_stream(spec.audio, rate=48000, layout="stereo")
        times = frame_times(spec)
        for i, t in enumerate(times):
            picture = scene(float(t), spec.width, spec.height)
            if spec.cut is not None and t >= spec.cut:
                picture = (255 - picture[:, ::-1]) // 3
            if spec.patch is not None:
                picture[-32:, :32] = spec.patch
            picture = np.rot90(picture, -(spec.rotation // 90))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            if spec.bt709:
                frame = frame.reformat(format=spec.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
                frame.color_primaries = frame.color_trc = BT709
            else:
                frame = frame.reformat(format=spec.pix_fmt)
            frame.pts = int(t / tb)
            frame.time_base = tb
            nxt = times[i + 1] if i + 1 < len(times) else t + Fraction(1, spec.fps)
            frame.duration = int((nxt - t) / tb)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            n = int(spec.seconds * 48000)
            samples = chord(np.arange(n) / 48000)
            fmt = "fltp"
            for start in range(0, n, 1024):
                chunk = np.ascontiguousarray(samples[:, start : start + 1024])
                aframe = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="stereo")
                aframe.sample_rate, aframe.pts = 48000, start
                aframe.time_base = Fraction(1, 48000)
                out.mux(audio.encode(aframe))
            out.mux(audio.encode(None))
    return path


def main() -> None:
    """`python -m vidstyle.media.synth OUT.mp4 [seconds] [WxH]`: regenerate the shipped sample."""
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else "samples/scene.mp4"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    w, h = map(int, (sys.argv[3] if len(sys.argv) > 3 else "320x240").split("x"))
    make_clip(out, ClipSpec(seconds=seconds, width=w, height=h, gop=50))
    print(out)


if __name__ == "__main__":
    main()
