"""Many videos x styles as one Ray job: one actor pool for all of them, resumable, a summary at the end.

Every segment of every video goes into one queue served by one pool, so no worker idles while any video
has work left. Each finished output carries a fingerprint of what made it (input file, style, settings) in
its comment tag; a rerun skips outputs whose fingerprint matches, and redoes the rest from scratch (an
interrupted video left only temporaries, which the rerun removes).

Nothing the batch did not make is lost: an existing file at an output's path is replaced only when its
fingerprint says it is this batch's output of the same input (or with --overwrite); outputs stay inside the
output folder; two rows never share an output; and no output of the batch is read as one of its inputs.
Each such problem fails its own row, with one line, before any work starts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidstyle import media
from vidstyle.errors import VidstyleError
from vidstyle.files import space_checked
from vidstyle.pipeline.executors import ShardOptions, Work, executor_for
from vidstyle.pipeline.segments import Job, RenderOptions, commit, discard, finish, job_gflop, prepare, stage
from vidstyle.pipeline.stylizers import Recipe
from vidstyle.version import __version__

VIDEO_SUFFIXES = {
    ".mp4",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
}
SUMMARY = "batch-summary"
#: How every batch output's comment starts: TAG, a digest of the input's path, ":", a digest of the rest.
TAG = "vidstyle:"


@dataclass
class Item:
    """One output to make: a video in one style."""

    source: Path
    style: str  # a style name, .vstyle path, painting path (with image=True), or blend (with blend=True)
    target: Path
    image: bool = False  # `style` is a painting
    blend: bool = False  # `style` is a blend, "muse=0.7,wave.jpg=0.3" (`choice.parse_blend`)
    error: str = ""  # why this row cannot run, found before any work (`check_targets`)
    key: str = ""  # which recipe renders it: the style, or style and video when the recipe depends on the video

    def __post_init__(self) -> None:
        self.key = self.key or self.style

    @property
    def label(self) -> str:
        return style_label(self.style, self.blend)


@dataclass
class Outcome:
    video: str
    style: str
    output: str
    status: str  # done, skipped, failed
    frames: int = 0
    seconds: float = 0.0  # worker time spent on it (its segments' wall times added up)
    error: str = ""


def style_label(style: str, blend: bool = False) -> str:
    """The STYLE part of an output's name: a style's name, a painting's stem, or for a blend each member's
    label with its share in percent ("muse70+wave30")."""
    if blend:
        from vidstyle.pipeline.choice import parse_blend

        try:
            members = parse_blend(style)
        except VidstyleError:  # its row fails when its recipe is built, with parse_blend's message
            return "blend"
        total = sum(w for _, w in members)
        return "+".join(f"{style_label(n)}{round(100 * w / total)}" for n, w in members)
    return Path(style).stem if ("/" in style or "." in style) else style


def discover(
    inputs: Path, styles: list[str], paintings: list[Path], out_dir: Path, suffix: str, blends: Sequence[str] = ()
) -> list[Item]:
    """Items from a folder of videos (x every style) or from a manifest (.csv or .jsonl).

    A manifest row names `input` and `style` (or `style_image`, or `blend`), and optionally `output` (relative to
    the output folder, and inside it); relative inputs are relative to the manifest. Styles given on the
    command line apply to rows that name none. A folder's videos leave out the batch's own outputs: files at
    the path of one of its outputs, and files that an earlier batch made (their fingerprint says so).
    """
    choices = (
        [(s, False, False) for s in styles]
        + [(str(p), True, False) for p in paintings]
        + [(b, False, True) for b in blends]
    )
    if inputs.is_dir():
        videos = sorted(p for p in inputs.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        if not videos:
            raise VidstyleError(f"{inputs} holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))}).")
        if not choices:
            raise VidstyleError("give at least one --style, --style-image or --blend for a folder of videos.")
        outputs = {_resolved(out_dir / f"{v.stem}.{style_label(s, b)}{suffix}") for v in videos for s, _, b in choices}
        videos = [v for v in videos if _resolved(v) not in outputs and not made_by_batch(v)]
        if not videos:
            raise VidstyleError(f"{inputs} holds no videos other than outputs of vidstyle batch.")
        items = [
            Item(v, s, out_dir / f"{v.stem}.{style_label(s, blend)}{suffix}", image, blend)
            for v in videos
            for s, image, blend in choices
        ]
        return check_targets(items, out_dir, "rename one of the inputs or use a manifest")
    if inputs.suffix.lower() not in (".csv", ".jsonl"):
        raise VidstyleError(f"{inputs} is neither a folder of videos nor a .csv/.jsonl manifest.")
    if not inputs.is_file():
        raise VidstyleError(f"{inputs} not found.")
    items = []
    for n, row in enumerate(_rows(inputs), start=1):
        if not isinstance(row, dict):
            raise VidstyleError(f"{inputs} row {n} is not an object with 'input' and 'style'.")
        for key in ("input", "style", "style_image", "blend", "output"):
            if row.get(key) is not None and not isinstance(row[key], str):
                raise VidstyleError(f"{inputs} row {n}: '{key}' must be text (a path or a name), not {row[key]!r}.")
        if not row.get("input"):
            raise VidstyleError(f"{inputs} row {n} has no 'input'.")
        source = Path(row["input"])
        source = source if source.is_absolute() else inputs.parent / source
        if row.get("style"):
            row_choices = [(row["style"], False, False)]
        elif row.get("style_image"):
            painting = Path(row["style_image"])
            row_choices = [(str(painting if painting.is_absolute() else inputs.parent / painting), True, False)]
        elif row.get("blend"):
            row_choices = [(row["blend"], False, True)]
        else:
            row_choices = choices
        if not row_choices:
            raise VidstyleError(f"{inputs} row {n} names no style, and no --style was given.")
        for style, image, blend in row_choices:
            name = row.get("output") or f"{source.stem}.{style_label(style, blend)}{suffix}"
            items.append(Item(source, style, out_dir / name, image, blend))
    return check_targets(items, out_dir, "give each row its own 'output'")


def _resolved(path: Path) -> Path:
    """The path with symlinks and `..` resolved, as far as it exists."""
    return Path(os.path.realpath(path))


def made_by_batch(path: Path) -> bool:
    """Whether `path` is a finished output of vidstyle batch (its comment holds a fingerprint)."""
    return (media.comment(path) or "").startswith(TAG)


def check_targets(items: list[Item], out_dir: Path, advice: str) -> list[Item]:
    """Mark each item that may not run: an output outside `out_dir` (resolved: `..`, absolute paths and
    symlinks all count), an output that another item writes too (`advice` says what to do), or an input
    that is an output of this batch. Found before any work starts, each fails its own row only."""
    root = _resolved(out_dir)
    targets: dict[Path, list[Item]] = {}
    for item in items:
        target = _resolved(item.target)
        if root not in target.parents:
            item.error = f"output {item.target} is outside the output folder {out_dir}; outputs stay inside it."
        else:
            targets.setdefault(target, []).append(item)
    for sharing in targets.values():
        if len(sharing) > 1:
            names = " and ".join(f"{i.source.name} ({i.label})" for i in sharing)
            both = "both" if len(sharing) == 2 else "all"
            for item in sharing:
                item.error = f"{names} would {both} write {item.target.name}; {advice}."
    for item in items:
        if not item.error and _resolved(item.source) in targets:
            item.error = f"input {item.source} is an output of this same batch."
    return items


def _rows(manifest: Path) -> list[dict[str, str]]:
    try:
        text = manifest.read_text()
    except UnicodeDecodeError:
        raise VidstyleError(f"{manifest} is not UTF-8 text.") from None
    if manifest.suffix.lower() == ".csv":
        rows = []
        for n, row in enumerate(csv.DictReader(text.splitlines()), start=1):
            if None in row:
                raise VidstyleError(f"{manifest} row {n} has more fields than the header.")
            rows.append({k.strip(): (v or "").strip() for k, v in row.items()})
        return rows
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise VidstyleError(f"{manifest} line {n} is not JSON ({exc.msg}).") from None
    return rows


def input_tag(source: Path) -> str:
    """The start of the fingerprint of every output made from `source`: an existing file whose comment
    starts so is this batch's own earlier output of that input, which a rerun may redo."""
    return TAG + hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16] + ":"


def fingerprint(source: Path, style_digest: str, options: RenderOptions) -> str:
    """What decides an output's bytes: the input file (path, size, mtime), the style, the settings."""
    stat = source.stat()
    settings = asdict(options)  # every field decides pixels; what to do with outputs is not among them
    blob = json.dumps([str(source.resolve()), stat.st_size, stat.st_mtime_ns, style_digest, settings, __version__])
    return input_tag(source) + hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class Running:
    """A video in flight: its job, staging, and parts so far."""

    item: Item
    job: Job
    tmp: Path
    scratch: Path
    comment: str
    replace: bool  # the target may be replaced: --overwrite, or it held this batch's earlier output of the input
    parts: dict[int, media.Part] = field(default_factory=dict)


def run_batch(
    items: list[Item],
    recipes: dict[str, tuple[Recipe, str] | str],
    options: RenderOptions,
    shard: ShardOptions,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[Outcome], None] | None = None,
    overwrite: bool = False,
) -> list[Outcome]:
    """Render every item; `recipes` maps each item's style to (recipe, digest) or an error (`build_recipes`).

    `progress(label, done, total)` is called per video as frames complete; `log` as each item ends.
    `overwrite`: replace files at output paths that are not this batch's own outputs.
    """
    outcomes: dict[int, Outcome] = {}
    running: dict[int, Running] = {}
    work: list[Work] = []

    def end(i: int, outcome: Outcome) -> None:
        outcomes[i] = outcome
        if log:
            log(outcome)

    for i, item in enumerate(items):
        label = item.label
        base = Outcome(video=str(item.source), style=label, output=str(item.target), status="failed")
        if item.error:
            end(i, Outcome(**{**asdict(base), "error": item.error}))
            continue
        if isinstance(recipes[item.key], str):
            end(i, Outcome(**{**asdict(base), "error": recipes[item.key]}))
            continue
        digest = recipes[item.key][1]
        try:
            comment = fingerprint(item.source, digest, options)
        except OSError as exc:
            end(i, Outcome(**{**asdict(base), "error": f"{item.source}: {exc.strerror}"}))
            continue
        may_replace = overwrite
        if os.path.lexists(item.target):
            tag = media.comment(item.target) if item.target.is_file() else None
            if tag == comment:
                end(
                    i,
                    Outcome(**{**asdict(base), "status": "skipped", "frames": len(media.packet_times(item.target)[0])}),
                )
                continue
            if not (may_replace or (tag or "").startswith(input_tag(item.source))):
                end(
                    i,
                    Outcome(
                        **{
                            **asdict(base),
                            "error": f"{item.target} already exists and is not this batch's "
                            f"output of {item.source.name}; pass --overwrite to "
                            "replace it.",
                        }
                    ),
                )
                continue
            may_replace = True
        try:
            job = prepare(item.source, item.target, options, overwrite=True)  # decided just above
            tmp, scratch = stage(job.target)
        except VidstyleError as exc:
            end(i, Outcome(**{**asdict(base), "error": str(exc)}))
            continue
        running[i] = Running(item, job, tmp, scratch, comment, may_replace)
        work += [Work(i, job, item.key, s, scratch) for s in job.segments]

    if not running:
        return [outcomes[i] for i in sorted(outcomes)]
    remaining = {i: len(r.job.segments) for i, r in running.items()}
    gflop = sum(
        job_gflop(r.job, recipes[r.item.key][0], options.max_side)  # type: ignore[index]
        for r in running.values()
    )
    executor = executor_for(options, shard, len(work), gflop)
    try:
        for key in {r.item.key for r in running.values()}:
            executor.add_recipe(key, recipes[key][0])  # type: ignore[index]

        def done(work_item: Work, part: media.Part) -> None:
            i = work_item.video
            run = running[i]
            run.parts[work_item.segment.index] = part
            remaining[i] -= 1
            if remaining[i]:
                return
            base = {"video": str(run.item.source), "style": run.item.label, "output": str(run.item.target)}
            try:
                report = finish(run.job, run.tmp, [run.parts[k] for k in sorted(run.parts)], run.comment)
                commit(run.tmp, run.scratch, run.item.target, run.replace)
                end(
                    i,
                    Outcome(
                        **base,
                        status="done",
                        frames=report.frames_out,
                        seconds=round(sum(p.seconds for p in run.parts.values()), 2),
                    ),
                )
            except VidstyleError as exc:
                discard(run.tmp, run.scratch)
                end(i, Outcome(**base, status="failed", error=str(exc)))
            del running[i]

        tries = f" {executor.attempts} times" if executor.attempts > 1 else ""

        def failed(work_item: Work, why: str, error: BaseException | None) -> None:
            run = running.pop(work_item.video)
            discard(run.tmp, run.scratch)
            end(
                work_item.video,
                Outcome(
                    video=str(run.item.source),
                    style=run.item.label,
                    output=str(run.item.target),
                    status="failed",
                    error=f"segment {work_item.segment.index + 1} failed{tries}, last because {why}",
                ),
            )

        def report(totals: dict[int, int]) -> None:
            if progress:
                for i, n in totals.items():
                    if i in running:
                        run = running[i]
                        progress(f"{run.item.source.name} [{run.item.label}]", n, run.job.info.frames)

        # A full disk ends the batch with one line; finished outputs stay, the rest is removed below.
        folder = Path(os.path.commonpath([r.item.target.parent.absolute() for r in running.values()]))
        with space_checked(folder, sum(r.job.needed for r in running.values())):
            executor.run(work, done, failed, report)
    finally:
        for run in running.values():  # interrupted: nothing half-written stays behind
            discard(run.tmp, run.scratch)
        executor.close()
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


def build_recipes(
    items: list[Item],
    arch: str = "full",
    on_cpu: bool = False,
    method: str = "fast",
    strength: float = 1.0,
    preserve_color: bool = False,
    nst_recipe: Callable[[np.ndarray], Recipe] | None = None,
) -> dict[str, tuple[Recipe, str] | str]:
    """Each distinct recipe once: (recipe, digest of what defines it), or the error that makes it unusable
    (an unknown style fails only its own items). The same rule as `render` (`choice.make_recipe`): a
    painting is fast unless `method` is nst; a style code's `strength` below 1 moves it towards each
    video's own code, so such items get a recipe per video (`Item.key`). `nst_recipe(painting)` builds
    the recipe of `method` nst (`jobs.VideoNST`, the defaults `render` uses too)."""
    from dataclasses import replace as replaced

    from vidstyle.pipeline.choice import CONTENT_FRAMES, StyleChoice, make_recipe
    from vidstyle.pipeline.preview import sample
    from vidstyle.pipeline.stylizers import CodeRecipe, ImageRecipe

    recipes: dict[str, tuple[Recipe, str] | str] = {}
    for item in items:
        if item.key in recipes:
            continue
        if item.image:
            choice = StyleChoice(style_image=Path(item.style), method=method)
        else:
            choice = StyleChoice(blend=item.style) if item.blend else StyleChoice(item.style)
        choice = replaced(choice, strength=strength, preserve_color=preserve_color)
        try:
            recipe, _ = make_recipe(
                choice, lambda source=item.source: sample(source, CONTENT_FRAMES, "even")[2], arch, on_cpu, nst_recipe
            )
            if isinstance(recipe, CodeRecipe) and strength < 1.0:
                item.key = f"{item.style}|{item.source}"  # the code depends on this video
                for other in items:
                    if other.style == item.style and other.source == item.source:
                        other.key = item.key
            if isinstance(recipe, CodeRecipe):
                digest = hashlib.sha256(recipe.code.tobytes()).hexdigest() + f" at {recipe.side}"
            elif isinstance(recipe, ImageRecipe):
                digest = digest_file(Path(item.style)) + repr((recipe.nst, recipe.keyframes))
            else:
                digest = digest_file(recipe.style.path)
            recipes[item.key] = (recipe, digest)
        except VidstyleError as exc:
            recipes[item.key] = str(exc)
    return recipes
