"""Many videos x styles as one Ray job: one actor pool for all of them, resumable, a summary at the end.

Every segment of every video goes into one queue served by one pool, so no worker idles while any video
has work left. Each finished output carries a fingerprint of what made it (input file, style, settings) in
its comment tag; a rerun skips outputs whose fingerprint matches, and redoes the rest from scratch (an
interrupted video left only temporaries, which the rerun removes).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import __version__, media
from .errors import VidstyleError
from .render import (
    Job,
    RenderOptions,
    commit,
    discard,
    finish,
    job_gflop,
    prepare,
    remove_stale_temporaries,
    stage,
)
from .shard import ATTEMPTS, Pool, ShardOptions, Work, schedule
from .stylizers import Recipe

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".flv",
                  ".wmv", ".3gp", ".ogv"}
SUMMARY = "batch-summary"


@dataclass
class Item:
    """One output to make: a video in one style."""

    source: Path
    style: str  # a style name, .vstyle path, or painting path (with image=True)
    target: Path
    image: bool = False  # `style` is a painting
    key: str = ""  # which recipe renders it: the style, or style and video when the recipe depends on the video

    def __post_init__(self) -> None:
        self.key = self.key or self.style


@dataclass
class Outcome:
    video: str
    style: str
    output: str
    status: str  # done, skipped, failed
    frames: int = 0
    seconds: float = 0.0  # worker time spent on it (its segments' wall times added up)
    error: str = ""


def style_label(style: str) -> str:
    return Path(style).stem if ("/" in style or "." in style) else style


def discover(inputs: Path, styles: list[str], paintings: list[Path], out_dir: Path, suffix: str) -> list[Item]:
    """Items from a folder of videos (x every style) or from a manifest (.csv or .jsonl).

    A manifest row names `input` and `style` (or `style_image`), and optionally `output` (relative to
    the output folder); relative inputs are relative to the manifest. Styles given on the command line
    apply to rows that name none.
    """
    choices = [(s, False) for s in styles] + [(str(p), True) for p in paintings]
    if inputs.is_dir():
        videos = sorted(p for p in inputs.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        if not videos:
            raise VidstyleError(f"{inputs} holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))}).")
        if not choices:
            raise VidstyleError("give at least one --style or --style-image for a folder of videos.")
        return [Item(v, s, out_dir / f"{v.stem}.{style_label(s)}{suffix}", image) for v in videos
                for s, image in choices]
    if inputs.suffix.lower() not in (".csv", ".jsonl"):
        raise VidstyleError(f"{inputs} is neither a folder of videos nor a .csv/.jsonl manifest.")
    if not inputs.is_file():
        raise VidstyleError(f"{inputs} not found.")
    items = []
    for n, row in enumerate(_rows(inputs), start=1):
        if "input" not in row:
            raise VidstyleError(f"{inputs} row {n} has no 'input'.")
        source = Path(row["input"])
        source = source if source.is_absolute() else inputs.parent / source
        if row.get("style"):
            row_choices = [(row["style"], False)]
        elif row.get("style_image"):
            painting = Path(row["style_image"])
            row_choices = [(str(painting if painting.is_absolute() else inputs.parent / painting), True)]
        else:
            row_choices = choices
        if not row_choices:
            raise VidstyleError(f"{inputs} row {n} names no style, and no --style was given.")
        for style, image in row_choices:
            name = row.get("output") or f"{source.stem}.{style_label(style)}{suffix}"
            items.append(Item(source, style, out_dir / name, image))
    targets = [i.target for i in items]
    if len(set(targets)) != len(targets):
        raise VidstyleError(f"{inputs}: two rows would write the same output; give each an 'output'.")
    return items


def _rows(manifest: Path) -> list[dict[str, str]]:
    text = manifest.read_text()
    if manifest.suffix.lower() == ".csv":
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(text.splitlines())]
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise VidstyleError(f"{manifest} line {n} is not JSON ({exc.msg}).") from None
    return rows


def fingerprint(source: Path, style_digest: str, options: RenderOptions) -> str:
    """What decides an output's bytes: the input file (path, size, mtime), the style, the settings."""
    stat = source.stat()
    settings = {k: v for k, v in asdict(options).items() if k not in ("overwrite", "comment")}
    blob = json.dumps([str(source.resolve()), stat.st_size, stat.st_mtime_ns, style_digest, settings, __version__])
    return "vidstyle:" + hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class Running:
    """A video in flight: its job, staging, and parts so far."""

    item: Item
    job: Job
    tmp: Path
    scratch: Path
    comment: str
    parts: dict[int, media.Part] = field(default_factory=dict)


def run_batch(
    items: list[Item],
    recipes: dict[str, tuple[Recipe, str] | str],
    options: RenderOptions,
    shard: ShardOptions,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Render every item; `recipes` maps each item's style to (recipe, digest) or an error (`build_recipes`).

    `progress(label, done, total)` is called per video as frames complete; `log` as each item ends.
    """
    outcomes: dict[int, Outcome] = {}
    running: dict[int, Running] = {}
    work: list[Work] = []

    def end(i: int, outcome: Outcome) -> None:
        outcomes[i] = outcome
        if log:
            log(outcome)

    for i, item in enumerate(items):
        label = style_label(item.style)
        base = Outcome(video=str(item.source), style=label, output=str(item.target), status="failed")
        if isinstance(recipes[item.key], str):
            end(i, Outcome(**{**asdict(base), "error": recipes[item.key]}))
            continue
        digest = recipes[item.key][1]
        try:
            comment = fingerprint(item.source, digest, options)
        except OSError as exc:
            end(i, Outcome(**{**asdict(base), "error": f"{item.source}: {exc.strerror}"}))
            continue
        if item.target.exists() and media.comment(item.target) == comment:
            end(i, Outcome(**{**asdict(base), "status": "skipped",
                              "frames": len(media.packet_times(item.target)[0])}))
            continue
        remove_stale_temporaries(item.target)
        try:
            job = prepare(item.source, item.target, replace(options, overwrite=True))
            tmp, scratch = stage(job.target)
        except VidstyleError as exc:
            end(i, Outcome(**{**asdict(base), "error": str(exc)}))
            continue
        running[i] = Running(item, job, tmp, scratch, comment)
        work += [Work(i, job, item.key, s, scratch) for s in job.segments]

    if not running:
        return [outcomes[i] for i in sorted(outcomes)]
    remaining = {i: len(r.job.segments) for i, r in running.items()}
    gflop = sum(job_gflop(r.job, recipes[r.item.key][0], options.max_side)  # type: ignore[index]
                for r in running.values())
    pool = Pool(options, shard, len(work), gflop)
    try:
        for key in {r.item.key for r in running.values()}:
            pool.add_recipe(key, recipes[key][0])  # type: ignore[index]

        def done(work_item: Work, part: media.Part) -> None:
            i = work_item.video
            run = running[i]
            run.parts[work_item.segment.index] = part
            remaining[i] -= 1
            if remaining[i]:
                return
            base = {"video": str(run.item.source), "style": style_label(run.item.style),
                    "output": str(run.item.target)}
            try:
                report = finish(run.job, run.tmp, [run.parts[k] for k in sorted(run.parts)], run.comment)
                commit(run.tmp, run.scratch, run.item.target)
                end(i, Outcome(**base, status="done", frames=report.frames_out,
                               seconds=round(sum(p.seconds for p in run.parts.values()), 2)))
            except VidstyleError as exc:
                discard(run.tmp, run.scratch)
                end(i, Outcome(**base, status="failed", error=str(exc)))
            del running[i]

        def failed(work_item: Work, why: str) -> None:
            run = running.pop(work_item.video)
            discard(run.tmp, run.scratch)
            end(work_item.video, Outcome(video=str(run.item.source), style=style_label(run.item.style),
                                         output=str(run.item.target), status="failed",
                                         error=f"segment {work_item.segment.index + 1} failed {ATTEMPTS} times, "
                                               f"last because {why}"))

        def report(totals: dict[int, int]) -> None:
            if progress:
                for i, n in totals.items():
                    if i in running:
                        run = running[i]
                        progress(f"{run.item.source.name} [{style_label(run.item.style)}]", n, run.job.info.frames)

        schedule(pool, work, done, failed, report)
    finally:
        for run in running.values():  # interrupted: nothing half-written stays behind
            discard(run.tmp, run.scratch)
        pool.close()
    return [outcomes[i] for i in sorted(outcomes)]


def write_summary(outcomes: list[Outcome], out_dir: Path) -> tuple[Path, Path]:
    """batch-summary.json and .csv beside the outputs."""
    rows = [asdict(o) for o in outcomes]
    json_path, csv_path = out_dir / f"{SUMMARY}.json", out_dir / f"{SUMMARY}.csv"
    json_path.write_text(json.dumps(rows, indent=2) + "\n")
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(Outcome.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(rows)
    return json_path, csv_path


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def build_recipes(items: list[Item], vgg_weights: Path | None = None, arch: str = "full",
                  on_cpu: bool = False, method: str = "fast", strength: float = 1.0,
                  preserve_color: bool = False) -> dict[str, tuple[Recipe, str] | str]:
    """Each distinct recipe once: (recipe, digest of what defines it), or the error that makes it unusable
    (an unknown style fails only its own items). The same rule as `render` (`choice.make_recipe`): a
    painting is fast unless `method` is nst; a style code's `strength` below 1 moves it towards each
    video's own code, so such items get a recipe per video (`Item.key`)."""
    from dataclasses import replace as replaced

    from .choice import CONTENT_FRAMES, StyleChoice, make_recipe
    from .keyframes import KeyframeOptions
    from .nst import NSTOptions
    from .preview import sample
    from .stylizers import CodeRecipe, ImageRecipe

    def nst_recipe(painting):
        return ImageRecipe.of(painting, vgg_weights, NSTOptions(preserve_color=preserve_color), KeyframeOptions())

    recipes: dict[str, tuple[Recipe, str] | str] = {}
    for item in items:
        if item.key in recipes:
            continue
        choice = StyleChoice(style_image=Path(item.style), method=method) if item.image else StyleChoice(item.style)
        choice = replaced(choice, strength=strength, preserve_color=preserve_color)
        try:
            recipe, _ = make_recipe(choice, lambda: sample(item.source, CONTENT_FRAMES, "even")[2], arch, on_cpu,
                                    nst_recipe)
            if isinstance(recipe, CodeRecipe) and strength < 1.0:
                item.key = f"{item.style}|{item.source}"  # the code depends on this video
                for other in items:
                    if other.style == item.style and other.source == item.source:
                        other.key = item.key
            if isinstance(recipe, CodeRecipe):
                digest = hashlib.sha256(recipe.code.tobytes()).hexdigest()
            elif isinstance(recipe, ImageRecipe):
                digest = digest_file(Path(item.style)) + repr((recipe.nst, recipe.keyframes))
            else:
                digest = digest_file(recipe.style.path)
            recipes[item.key] = (recipe, digest)
        except VidstyleError as exc:
            recipes[item.key] = str(exc)
    return recipes
