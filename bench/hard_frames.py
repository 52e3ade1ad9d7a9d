"""The hard validation set: dark, flat and cartoon-like frames that the built-ins' tuning never sees.

    python bench/hard_frames.py --sheet hard.png                    # look at the set (a contact sheet)
    python bench/hard_frames.py --training-dir runs/hard_train       # BSDS train_/val_ photos, same transforms
    python bench/style_quality.py --set hard                        # measure on it (bench/style_quality.py)

bench/style_quality.py's own set (cup, fox, vtest frames and BSDS test_* photos) is textured natural footage,
the same kind as the tuning photos, so it could not see styles that leave flat and dark regions as flat washes
(issue 29: an animated clip took four built-ins to 1.4-1.76x the reference networks' style distance). This
set is built on purpose to be hard, deterministically from the shared assets, no randomness but fixed seeds:

- sources it never shares with the tuning or with style_quality's default set: fox.mp4 and vtest.avi at 1/4 and
  3/4 of their length (the default set samples 1/8, 3/8, 5/8, 7/8), and BSDS500 `test_*` photos from the
  19th on by name (the default set takes the first 8; tuning uses only `train_*` and `val_*`);
- each source goes through one transform: `night` (gamma 2.6, a third of the light, blue cast: a night
  shot), `low_key` (gamma 1.8 and a dark vignette: one lit subject on black), `flat` (five bilateral passes
  and 6 median-cut colours: cel-shaded), `cartoon` (bilateral flattening, 8 colours, dark ink lines) or
  `smooth` (strong bilateral flattening, no quantisation: smoothly shaded, airbrushed areas);
- synthetic flat graphics drawn here: `vidstyle.media.synth`'s scene by day and by night, a cel-shaded face
  on a flat dark wall and a screen-recording-like desktop (windows, text lines, a chart, flat colours).

`training_set` writes the same transforms of BSDS `train_*`/`val_*` photos (one transform per photo, by
name), for `vidstyle train-code --photos`; it never reads a validation source.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
#: video -> fractions of its length (bench/style_quality.py's default set takes (i + 0.5) / 4)
VIDEO_PICKS = {"fox.mp4": (0.25, 0.75), "vtest.avi": (0.25, 0.75)}
#: BSDS500 test_* photos by sorted index: from the 19th on, every 17th (the default set takes the first 8)
PHOTO_PICKS = tuple(range(18, 200, 17))[:8]
SIDE = 640  # sources are scaled to this long side before the transforms (bench scales again to its sizes)


def _long_side(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def _gamma(rgb: np.ndarray, gamma: float, gain: float = 1.0) -> np.ndarray:
    x = (rgb.astype(np.float32) / 255) ** gamma * gain
    return x


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def night(rgb: np.ndarray) -> np.ndarray:
    """A night shot: gamma 2.6, a third of the light, a blue cast."""
    x = _gamma(rgb, 2.6, 0.35) * np.array([0.75, 0.9, 1.25], np.float32)
    return _u8(x)


def low_key(rgb: np.ndarray) -> np.ndarray:
    """Low-key lighting: gamma 1.8 and a vignette that leaves the middle lit and the edges near black."""
    h, w = rgb.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
    light = np.clip(1.15 - 0.95 * r, 0.05, 1.0) ** 2
    return _u8(_gamma(rgb, 1.8) * light[..., None])


def _bilateral(rgb: np.ndarray, passes: int, sigma_color: float) -> np.ndarray:
    out = rgb
    for _ in range(passes):
        out = cv2.bilateralFilter(out, 9, sigma_color, 7)
    return out


def _quantise(rgb: np.ndarray, colors: int) -> np.ndarray:
    """Median-cut palette (PIL, deterministic), no dithering: flat areas of one colour."""
    img = Image.fromarray(rgb).quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return np.asarray(img.convert("RGB"))


def flat(rgb: np.ndarray) -> np.ndarray:
    """Cel-shaded: five bilateral passes, then 6 colours."""
    return _quantise(_bilateral(rgb, 5, 40), 6)


def cartoon(rgb: np.ndarray) -> np.ndarray:
    """A cartoon: bilateral flattening, 8 colours, dark ink lines from an adaptive threshold of the flattened grey."""
    smoothed = _bilateral(rgb, 4, 50)
    colors = _quantise(smoothed, 8)
    grey = cv2.medianBlur(cv2.cvtColor(smoothed, cv2.COLOR_RGB2GRAY), 7)
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, 10)
    return np.where(ink[..., None] > 0, colors, (colors * 0.15).astype(np.uint8))


def smooth(rgb: np.ndarray) -> np.ndarray:
    """Smoothly shaded, airbrushed areas: eight strong bilateral passes, a little darker."""
    return _u8(_gamma(_bilateral(rgb, 8, 60), 1.3))


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "night": night,
    "low_key": low_key,
    "flat": flat,
    "cartoon": cartoon,
    "smooth": smooth,
}
#: the validation sources' transforms, in order (video frames, then photos)
VIDEO_TRANSFORMS = ("night", "flat", "low_key", "cartoon")
PHOTO_TRANSFORMS = ("night", "cartoon", "low_key", "flat", "smooth", "night", "cartoon", "smooth")


def synth_scene(night_time: bool, width: int = 640, height: int = 480) -> np.ndarray:
    """`vidstyle.media.synth`'s scene (flat sky gradient, sun, hills, ball), by day or as its night cut."""
    from vidstyle.media.synth import scene

    picture = scene(0.7, width, height)
    return (255 - picture[:, ::-1]) // 3 if night_time else picture


def face_graphic(width: int = 640, height: int = 480) -> np.ndarray:
    """A cel-shaded face on a flat dark wall with a lamp-lit gradient and a flat floor."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    glow = np.clip(1 - np.hypot(x - 0.7 * width, y - 0.2 * height) / (0.9 * width), 0, 1)
    img[:] = np.stack([30 + 50 * glow, 28 + 35 * glow, 45 + 30 * glow], -1)
    img[y > 0.8 * height] = (58, 40, 30)
    u8 = np.ascontiguousarray(img.astype(np.uint8))
    cx, cy = width // 2 - 40, height // 2
    cv2.ellipse(u8, (cx, cy + 150), (150, 90), 0, 180, 360, (40, 60, 120), -1)  # shoulders
    cv2.ellipse(u8, (cx, cy - 10), (95, 125), 0, 0, 360, (225, 180, 150), -1)  # face
    cv2.ellipse(u8, (cx + 25, cy - 10), (65, 115), 0, -60, 60, (180, 135, 110), -1)  # shaded side
    cv2.ellipse(u8, (cx, cy - 95), (105, 55), 0, 180, 360, (50, 30, 20), -1)  # hair
    for ex in (cx - 35, cx + 35):
        cv2.ellipse(u8, (ex, cy - 25), (16, 10), 0, 0, 360, (250, 250, 250), -1)
        cv2.circle(u8, (ex, cy - 25), 7, (40, 30, 20), -1)
    cv2.ellipse(u8, (cx, cy + 55), (35, 12), 0, 0, 180, (150, 60, 60), -1)  # mouth
    cv2.line(u8, (cx, cy - 5), (cx + 8, cy + 25), (150, 105, 85), 3)  # nose
    return u8


def screen_graphic(width: int = 640, height: int = 480) -> np.ndarray:
    """A screen recording: flat desktop, two windows with title bars, text lines, buttons and a bar chart."""
    u8 = np.full((height, width, 3), (38, 70, 110), np.uint8)
    cv2.rectangle(u8, (0, height - 28), (width, height), (25, 25, 30), -1)  # task bar
    for i in range(6):
        cv2.rectangle(u8, (8 + 34 * i, height - 23), (34 + 34 * i, height - 5), (90, 90, 100), -1)
    cv2.rectangle(u8, (30, 30), (400, 330), (245, 245, 245), -1)  # editor window
    cv2.rectangle(u8, (30, 30), (400, 54), (60, 60, 70), -1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(u8, "notes.txt - Editor", (40, 48), font, 0.5, (230, 230, 230), 1, cv2.LINE_AA)
    lines = ["def render(clip, style):", "    frames = decode(clip)", "    return paint(frames)", "", "# TODO: flat"]
    for i, line in enumerate(lines * 2):
        cv2.putText(u8, line, (44, 80 + 22 * i), font, 0.5, (30, 30, 30), 1, cv2.LINE_AA)
    cv2.rectangle(u8, (300, 290), (385, 318), (40, 120, 220), -1)
    cv2.putText(u8, "Save", (325, 310), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.rectangle(u8, (330, 170), (620, 430), (250, 250, 250), -1)  # chart window, over the editor
    cv2.rectangle(u8, (330, 170), (620, 194), (60, 60, 70), -1)
    cv2.putText(u8, "fps by style", (340, 188), font, 0.5, (230, 230, 230), 1, cv2.LINE_AA)
    for i, (v, c) in enumerate(zip((150, 90, 200, 120, 60), ((220, 80, 60), (60, 160, 90), (70, 110, 210)) * 2)):
        cv2.rectangle(u8, (355 + 50 * i, 415 - v), (390 + 50 * i, 415), c, -1)
    cv2.line(u8, (345, 415), (605, 415), (80, 80, 80), 1)
    return u8


def _decode_fractions(path: Path, fractions: tuple[float, ...]) -> list[tuple[str, np.ndarray]]:
    from vidstyle.media import decode_at, probe

    info = probe(path)
    pts = np.sort(info.pts)
    wanted = [int(pts[int(f * len(pts))]) for f in fractions]
    got = dict(decode_at(path, wanted, list(info.keyframes), info.rotation, [0]))
    return [(f"{path.stem} {float(p * info.time_base):.1f}s", got[p]) for p in wanted]


def hard_frames(assets: Path = ASSETS, side: int = SIDE) -> list[tuple[str, np.ndarray]]:
    """The validation set: (label, RGB uint8), the same on every run."""
    from vidstyle.media.images import read_rgb

    sources = [item for video, fr in VIDEO_PICKS.items() for item in _decode_fractions(assets / "videos" / video, fr)]
    photos = sorted((assets / "photos" / "bsds500").glob("test_*.jpg"))
    sources += [(photos[i].stem, read_rgb(photos[i])) for i in PHOTO_PICKS]
    out = [
        (f"{label} {how}", TRANSFORMS[how](_long_side(rgb, side)))
        for (label, rgb), how in zip(sources, VIDEO_TRANSFORMS + PHOTO_TRANSFORMS, strict=True)
    ]
    out += [
        ("synth day", synth_scene(False)),
        ("synth night", synth_scene(True)),
        ("face graphic", face_graphic()),
        ("screen graphic", screen_graphic()),
    ]
    return out


def training_transform(name: str) -> str:
    """The transform a training photo gets, picked by a hash of its name (stable across runs and machines)."""
    return sorted(TRANSFORMS)[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(TRANSFORMS)]


def training_set(assets: Path, out: Path, originals: bool = True) -> int:
    """Write one transformed copy of each BSDS500 train_*/val_* photo (and, with `originals`, a link to the
    photo itself) into `out`; returns how many files. Validation sources are never read."""
    from vidstyle.media.images import read_rgb, write_rgb

    out.mkdir(parents=True, exist_ok=True)
    folder = assets / "photos" / "bsds500"
    paths = sorted(p for p in folder.glob("*.jpg") if p.name.startswith(("train_", "val_")))
    for p in paths:
        how = training_transform(p.stem)
        write_rgb(out / f"{p.stem}-{how}.png", TRANSFORMS[how](read_rgb(p)))
        if originals and not (out / p.name).exists():
            (out / p.name).symlink_to(p.resolve())
    return len(paths) * (2 if originals else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, default=ASSETS)
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the validation set here")
    parser.add_argument("--training-dir", type=Path, help="write the hard training photos here")
    parser.add_argument("--no-originals", action="store_true", help="training dir: transformed photos only")
    args = parser.parse_args()
    if args.sheet:
        from vidstyle.media.images import write_rgb
        from vidstyle.media.sheets import contact_sheet

        frames = hard_frames(args.assets)
        rows = [("", [f for _, f in frames[i : i + 4]]) for i in range(0, len(frames), 4)]
        write_rgb(args.sheet, np.asarray(contact_sheet(rows, [], 320)))
        for label, f in frames:
            print(f"{label:28s} mean {f.mean():6.1f}  {f.shape[1]}x{f.shape[0]}")
    if args.training_dir:
        print(f"{training_set(args.assets, args.training_dir, not args.no_originals)} files -> {args.training_dir}")


if __name__ == "__main__":
    main()
