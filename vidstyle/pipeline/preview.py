"""A contact sheet of a few frames in several styles: decide on a style in seconds, before a long render.

Only the sampled frames are decoded (seek to the keyframe before each); trained styles run at the frame's
own size, so the sheet shows what `render` would give; a painting (`--style-image`) is optimised on all
sampled frames at once, at a reduced size.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidstyle import media
from vidstyle.checks import whole_number
from vidstyle.errors import VidstyleError
from vidstyle.files import refuse_existing, space_checked, write_atomic
from vidstyle.media.images import check_writable, to_tensor, to_uint8, write_rgb
from vidstyle.media.sheets import contact_sheet
from vidstyle.models.devices import resolve_device
from vidstyle.models.vgg import VGGFeatures, perceptual_vgg
from vidstyle.nst.gatys import transfer
from vidstyle.nst.losses import GATYS
from vidstyle.options import PREVIEW_AT, PREVIEW_FRAMES, PREVIEW_NST, PREVIEW_THUMB, At, NSTOptions, StyleChoice
from vidstyle.pipeline.choice import CONTENT_FRAMES, checked, make_recipe, read_painting
from vidstyle.pipeline.stylizers import Recipe, make_transform


@dataclass
class PreviewReport:
    times: list[float]  # seconds, one per column
    rows: list[str]  # labels, original first
    decoded: int  # frames the decoder produced
    frames_in_video: int
    seconds: float = 0.0
    cells: list[list[np.ndarray]] = field(default_factory=list, repr=False)


def pick(info: media.VideoInfo, count: int, at: str = "even") -> list[int]:
    """`count` presentation times: the middles of equal stretches of the video, or (at="keyframes") keyframes
    spread the same way, which cost one decoded frame each and fall on shot changes where the encoder
    put them there."""
    if at not in ("even", "keyframes"):
        raise VidstyleError(f"unknown --at {at!r}; use even or keyframes.")
    pts = np.sort(info.pts)
    pool = np.asarray(sorted(info.keyframes)) if at == "keyframes" and len(info.keyframes) else pts
    count = min(count, len(pool))
    picks = [int(pool[int((i + 0.5) * len(pool) / count)]) for i in range(count)]
    return sorted(set(picks))


def stylize_recipe(
    frames: list[np.ndarray], recipe: Recipe, device: torch.device, max_side: int | None
) -> list[np.ndarray]:
    """The same frame filter `render` runs (without the stabiliser, which needs neighbouring frames), so
    the sheet shows what a render would give."""
    run = make_transform(recipe, device, 4, max_side, None)
    return [image for _, _, image in run((i, 0, frame) for i, frame in enumerate(frames))]


def stylize_painting(
    frames: list[np.ndarray], painting: np.ndarray, vgg: VGGFeatures, options: NSTOptions, device: torch.device
) -> list[np.ndarray]:
    """All frames in one optimisation (a batch): the same cost per pixel, one warm-up."""
    batch = torch.cat([to_tensor(f, device) for f in frames])
    result = transfer(vgg.to(device), batch, to_tensor(painting, device), options)
    return [to_uint8(result[i : i + 1]) for i in range(len(frames))]


def clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:05.2f}"


def html_page(rows: list[tuple[str, list[np.ndarray]]], times: list[float], title: str) -> str:
    """One self-contained page (images inline) with each cell at full size."""

    def data_uri(image: np.ndarray) -> str:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="JPEG", quality=88)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()

    head = "".join(f"<th>{t:.2f} s</th>" for t in times)
    body = "".join(
        f"<tr><th>{html.escape(label)}</th>"
        + "".join(
            f'<td><img src="{data_uri(c)}" alt="{html.escape(label)} at {t:.2f} s"></td>' for c, t in zip(cells, times)
        )
        + "</tr>"
        for label, cells in rows
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}img{width:100%}td{vertical-align:top}</style>"
        f"<h1>{html.escape(title)}</h1><table><tr><th></th>{head}</tr>{body}</table>\n"
    )


def sample(source: str | Path, count: int, at: str) -> tuple[media.VideoInfo, list[int], list[np.ndarray], int]:
    """(info, picked pts, their upright frames, frames decoded)."""
    info = media.probe(source)
    wanted = pick(info, count, at)
    decoded = [0]
    got = dict(media.decode_at(source, wanted, list(info.keyframes), info.rotation, decoded))
    if not got:
        raise VidstyleError(f"{source}: none of the sampled frames could be decoded.")
    picked = [p for p in wanted if p in got]
    return info, picked, [got[p] for p in picked], decoded[0]


def preview(
    source: Path,
    styles: list[tuple[str, Callable[[list[np.ndarray]], list[np.ndarray]]]],
    count: int = 8,
    at: str = "even",
    started: float | None = None,
) -> PreviewReport:
    """`styles`: (label, function from a list of frames to the stylised list)."""
    started = started if started is not None else time.perf_counter()
    info, picked, frames, decoded = sample(source, count, at)
    rows = [("original", frames)]
    for label, run in styles:
        rows.append((label, run(frames)))
    times = [float(p * info.time_base) for p in picked]
    return PreviewReport(
        times=times,
        rows=[r[0] for r in rows],
        decoded=decoded,
        frames_in_video=info.frames,
        seconds=time.perf_counter() - started,
        cells=[r[1] for r in rows],
    )


def preview_video(
    source: str | Path,
    output: str | Path,
    choices: list[tuple[str, StyleChoice]],
    *,
    frames: int = PREVIEW_FRAMES,
    at: str = PREVIEW_AT,
    thumb: int = PREVIEW_THUMB,
    max_side: int | None = None,
    nst: NSTOptions = PREVIEW_NST,
    with_html: bool = False,
    device: str = "auto",
    overwrite: bool = False,
    started: float | None = None,
) -> PreviewReport:
    """A contact sheet at `output` (and `with_html`, a page beside it, `OUTPUT.html`): the sampled frames in
    every labelled choice. Every choice paints as `render` would; paintings with method nst are optimised
    for all sampled frames at once (`nst`: 256 px, 100 iterations by default). Neither file replaces one
    that exists unless `overwrite`."""
    started = started if started is not None else time.perf_counter()
    source, output = Path(source), Path(output)  # str or Path, as render_video takes them
    if not isinstance(choices, (list, tuple)) or not all(
        isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str) for c in choices
    ):
        raise TypeError("choices must be a list of (label, StyleChoice) pairs.")
    for _, choice in choices:
        checked(choice, "each choice")
    if not choices:
        raise VidstyleError("give at least one --style, --style-image or --blend to compare.")
    for option, value, least in (("--frames", frames, 1), ("--thumb", thumb, 32)):
        whole_number(value, option, least, name=option[2:])
    if max_side is not None:
        whole_number(max_side, "--max-side", 16, name="max_side")
    At.check(at, "--at")
    if not isinstance(nst, NSTOptions):
        raise TypeError(f"nst must be an NSTOptions, not {type(nst).__name__}.")
    nst.check()
    page = output.with_suffix(".html")
    for target in [output, page] if with_html else [output]:
        refuse_existing(target, overwrite)
    check_writable(output)
    dev = resolve_device(device)

    def content() -> list[np.ndarray]:
        return sample(source, CONTENT_FRAMES, "even")[2]

    vgg = None
    runs: list[tuple[str, Callable[[list[np.ndarray]], list[np.ndarray]]]] = []
    for label, choice in choices:
        if choice.method == "nst" and choice.style_image is not None:
            options = replace(nst, preserve_color=choice.preserve_color)
            vgg = vgg or perceptual_vgg(GATYS.all, nst.vgg_weights)
            painting = read_painting(Path(choice.style_image))
            runs.append((label, partial(stylize_painting, painting=painting, vgg=vgg, options=options, device=dev)))
            continue
        recipe = make_recipe(choice, content)
        runs.append((label, partial(stylize_recipe, recipe=recipe, device=dev, max_side=max_side)))
    report = preview(source, runs, frames, at, started)
    rows = list(zip(report.rows, report.cells))
    sheet = np.asarray(contact_sheet(rows, [clock(t) for t in report.times], thumb))
    text = html_page(rows, report.times, f"{source.name}: vidstyle preview") if with_html else ""
    with space_checked(output.parent, sheet.nbytes + len(text)):  # a full disk: one line, as render's
        write_rgb(output, sheet)
        if with_html:
            write_atomic(page, lambda tmp: tmp.write_text(text))
    return report
