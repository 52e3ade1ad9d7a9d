"""Many videos x styles as one Ray job, streamed: items are read lazily from a folder or a manifest (local or
in object storage), a bounded window of videos is in flight on one actor pool (`driver.drive`), and the
summary is written row by row as videos end. The driver handles metadata only: probing, reading segments,
painting, encoding, the join and the check all run on the workers (`units.py`).

Each finished output carries a fingerprint of what made it (input, style, settings) in its comment tag (and,
in S3, its object metadata); a rerun skips outputs whose fingerprint matches, and redoes the rest from
scratch (an interrupted video left only temporaries of its own, which the rerun removes).

Nothing the batch did not make is lost: an existing file at an output's path is replaced only when its
fingerprint says it is this batch's output of the same input (or with --overwrite); outputs stay inside the
output folder; two rows never share an output; no output of the batch is read as one of its inputs; and a
summary file the batch did not write is never replaced. Each row's problem fails that row only, with one line.
The checks that need every row (shared outputs, inputs that are outputs) take one pass over the names first:
a set of 8-byte digests, about 7 MB for 100,000 rows, and no file opened.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from vidstyle import storage
from vidstyle.errors import VidstyleError
from vidstyle.files import remove_dead_temporaries, space_checked, temporary_beside, write_atomic
from vidstyle.options import NSTOptions, RenderOptions, ShardOptions, StyleChoice
from vidstyle.pipeline.driver import Ended, drive
from vidstyle.pipeline.executors import Executor, executor_for
from vidstyle.pipeline.stylizers import Recipe
from vidstyle.pipeline.units import Plan, VideoTask

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


@dataclass
class Item:
    """One output to make: a video in one style. `source` and `target` are local paths or URLs."""

    source: str
    style: str  # a style name, .vstyle path, painting path (with image=True), or blend (with blend=True)
    target: str
    image: bool = False  # `style` is a painting
    blend: bool = False  # `style` is a blend, "muse=0.7,wave.jpg=0.3" (`choice.parse_blend`)
    error: str = ""  # why this row cannot run, found before any work (`Discovery`)
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


Choice = tuple[str, bool, bool]  # (style, is a painting, is a blend)


class Discovery:
    """The items of a folder of videos (x every style) or of a manifest (.csv or .jsonl), read lazily.

    A manifest row names `input` and `style` (or `style_image`, or `blend`), and optionally `output` (relative
    to the output folder, and inside it); relative inputs are relative to the manifest. Styles given on the
    command line apply to rows that name none. A folder's videos leave out the batch's own outputs: files at
    the path of one of its outputs, and files that an earlier batch made (their fingerprint says so).

    Constructing it checks the request and takes one pass over the names (`count`, and the digests of the
    outputs, for the checks that need every row); iterating reads the rows again, one at a time.
    """

    def __init__(
        self,
        inputs: str | Path,
        styles: Sequence[str],
        paintings: Sequence[str | Path],
        out_dir: str | Path,
        suffix: str,
        blends: Sequence[str] = (),
    ):
        self.inputs, self.out_dir, self.suffix = str(inputs), str(out_dir), suffix
        self.choices: list[Choice] = (
            [(s, False, False) for s in styles]
            + [(str(p), True, False) for p in paintings]
            + [(b, False, True) for b in blends]
        )
        self.folder = storage.is_dir(self.inputs)
        if self.folder:
            if not self.choices:
                raise VidstyleError("give at least one --style, --style-image or --blend for a folder of videos.")
            self.advice = "rename one of the inputs or use a manifest"
        else:
            if not self.inputs.lower().endswith((".csv", ".jsonl")):
                raise VidstyleError(f"{self.inputs} is neither a folder of videos nor a .csv/.jsonl manifest.")
            if not storage.exists(self.inputs):
                raise VidstyleError(f"{self.inputs} not found.")
            self.advice = "give each row its own 'output'"
        self.count = 0
        self.folders: dict[str, str] = {}  # a folder -> its real path: rows share few folders
        self.writers: dict[int, int] = {}  # output digest -> how many items write it
        for item in self._raw():
            self.count += 1
            where = self._inside(item.target)
            if where is not None:
                digest = _digest(where)
                self.writers[digest] = self.writers.get(digest, 0) + 1
        if self.folder and not self.count:
            raise VidstyleError(f"{self.inputs} holds no videos other than outputs of vidstyle batch.")

    def _videos(self) -> Iterator[str]:
        """The folder's videos, those that are outputs of this batch's own naming left out (by name here;
        a file an earlier batch made is recognised by its fingerprint when it is planned)."""
        labels = {style_label(s, b) for s, _, b in self.choices}
        found = False
        for video in storage.list_folder(self.inputs, VIDEO_SUFFIXES):
            found = True
            name = storage.name(video)
            stem, _, label = name[: -len(self.suffix)].rpartition(".") if name.endswith(self.suffix) else ("", "", "")
            if stem and label in labels:
                continue
            yield video
        if not found:
            raise VidstyleError(f"{self.inputs} holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))}).")

    def _raw(self) -> Iterator[Item]:
        if self.folder:
            for video in self._videos():
                stem = storage.name(video).rsplit(".", 1)[0]
                for style, image, blend in self.choices:
                    target = storage.join(self.out_dir, f"{stem}.{style_label(style, blend)}{self.suffix}")
                    yield Item(video, style, target, image, blend)
            return
        base = storage.parent(self.inputs)
        for n, row in enumerate(_rows(self.inputs), start=1):
            if not isinstance(row, dict):
                raise VidstyleError(f"{self.inputs} row {n} is not an object with 'input' and 'style'.")
            for key in ("input", "style", "style_image", "blend", "output"):
                if row.get(key) is not None and not isinstance(row[key], str):
                    raise VidstyleError(
                        f"{self.inputs} row {n}: '{key}' must be text (a path or a name), not {row[key]!r}."
                    )
            if not row.get("input"):
                raise VidstyleError(f"{self.inputs} row {n} has no 'input'.")
            source = storage.join(base, row["input"])
            if row.get("style"):
                row_choices: list[Choice] = [(row["style"], False, False)]
            elif row.get("style_image"):
                row_choices = [(storage.join(base, row["style_image"]), True, False)]
            elif row.get("blend"):
                row_choices = [(row["blend"], False, True)]
            else:
                row_choices = self.choices
            if not row_choices:
                raise VidstyleError(f"{self.inputs} row {n} names no style, and no --style was given.")
            for style, image, blend in row_choices:
                name = row.get("output") or f"{storage.name(source).rsplit('.', 1)[0]}.{style_label(style, blend)}"
                name += "" if row.get("output") else self.suffix
                yield Item(source, style, storage.join(self.out_dir, name), image, blend)

    def _resolved(self, location: str) -> str:
        """`location` with symlinks and `..` resolved (a URL as it is): the folder's real path once per folder
        (a 100,000-row manifest names a few folders), and the file itself only when it is a symlink."""
        if storage.is_url(location):
            return location
        if ".." in Path(location).parts:  # link/.. is where the link leads, then up: only realpath knows
            return os.path.realpath(location)
        folder, name = os.path.split(os.path.abspath(location))
        real = self.folders.get(folder)
        if real is None:
            real = self.folders[folder] = os.path.realpath(folder)
        path = os.path.join(real, name)
        return os.path.realpath(path) if os.path.islink(path) else path

    def _inside(self, target: str) -> str | None:
        """The resolved target if it lies inside the output folder, else None."""
        if storage.is_url(target) or storage.is_url(self.out_dir):
            return target if storage.inside(self.out_dir, target) else None
        where, root = self._resolved(target), self._resolved(self.out_dir)
        return where if where.startswith(root.rstrip(os.sep) + os.sep) else None

    def __iter__(self) -> Iterator[Item]:
        """The items, each marked with the problem that keeps it from running (`Item.error`). Items that share
        an output are held back until every one of them has been read, so all of them can name each other."""
        pending: dict[int, list[Item]] = {}
        for item in self._raw():
            where = self._inside(item.target)
            if where is None:
                item.error = (
                    f"output {item.target} is outside the output folder {self.out_dir}; outputs stay inside it."
                )
                yield item
                continue
            digest = _digest(where)
            if self.writers.get(digest, 1) > 1:
                group = pending.setdefault(digest, [])
                group.append(item)
                if len(group) < self.writers[digest]:
                    continue
                del pending[digest]
                names = " and ".join(f"{storage.name(i.source)} ({i.label})" for i in group)
                both = "both" if len(group) == 2 else "all"
                for member in group:
                    member.error = f"{names} would {both} write {storage.name(member.target)}; {self.advice}."
                yield from group
                continue
            if _digest(self._resolved(item.source)) in self.writers:
                item.error = f"input {item.source} is an output of this same batch."
            yield item
        for group in pending.values():  # only when the folder or manifest changed between the passes
            yield from group


def _digest(resolved: str) -> int:
    """An output's identity for the checks across rows: 8 bytes of its resolved location's hash."""
    return int.from_bytes(hashlib.sha256(resolved.encode()).digest()[:8], "little")


def _rows(manifest: str) -> Iterator[dict]:
    if manifest.lower().endswith(".csv"):
        for n, row in enumerate(csv.DictReader(storage.lines(manifest)), start=1):
            if None in row:
                raise VidstyleError(f"{manifest} row {n} has more fields than the header.")
            yield {k.strip(): (v or "").strip() for k, v in row.items()}
        return
    for n, line in enumerate(storage.lines(manifest), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise VidstyleError(f"{manifest} line {n} is not JSON ({exc.msg}).") from None


@dataclass
class BatchResult:
    done: int
    skipped: int
    failed: int
    summary: tuple[str, str]  # the JSON and CSV summaries' locations


class Summary:
    """batch-summary.json and .csv in the output folder, written from rows appended as videos end (a local
    temporary of this process's own), so 100,000 outcomes are never held in memory. A summary file that
    this batch did not write is never replaced without --overwrite (`check`)."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.json, self.csv = storage.join(out_dir, f"{SUMMARY}.json"), storage.join(out_dir, f"{SUMMARY}.csv")
        self.counts = {"done": 0, "skipped": 0, "failed": 0}
        remove_dead_temporaries(Path(tempfile.gettempdir()), "vidstyle-summary-", ".jsonl")
        self.rows = temporary_beside(Path(tempfile.gettempdir()), "vidstyle-summary-", ".jsonl")
        self.file = self.rows.open("w")
        self.indexes, self.offsets = array("q"), array("q")  # item number, offset of its row: 16 bytes a row

    def check(self, overwrite: bool) -> None:
        """Refuse, before any work, to replace a summary the batch did not write."""
        if overwrite:
            return
        for location, ours in ((self.json, _our_json), (self.csv, _our_csv)):
            text = storage.read_text(location)
            if text is not None and not ours(text):
                raise VidstyleError(
                    f"{location} exists and is not a vidstyle batch summary; pass --overwrite to replace it, "
                    "or write the batch to another folder."
                )

    def add(self, index: int, outcome: Outcome) -> None:
        """Record the outcome of item number `index` (the summary lists rows in the items' order)."""
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.indexes.append(index)
        self.offsets.append(self.file.tell())
        self.file.write(json.dumps(asdict(outcome)) + "\n")
        self.file.flush()

    def write(self) -> tuple[str, str]:
        """Both files from the rows so far; each written whole beside its target and renamed (locally), or
        uploaded whole (object storage)."""
        self.file.flush()
        for location, render in ((self.json, self._write_json), (self.csv, self._write_csv)):
            if storage.is_url(location):
                tmp = temporary_beside(Path(tempfile.gettempdir()), "vidstyle-summary-", Path(location).suffix)
                try:
                    render(tmp)
                    storage.upload(tmp, location, replace=True)
                finally:
                    tmp.unlink(missing_ok=True)
            else:
                write_atomic(Path(location), render)
        return self.json, self.csv

    def _lines(self) -> Iterator[dict]:
        with self.rows.open() as f:
            for row in np.argsort(np.asarray(self.indexes), kind="stable"):
                f.seek(self.offsets[row])
                yield json.loads(f.readline())

    def _write_json(self, path: Path) -> None:
        with path.open("w") as f:
            f.write("[")
            for n, row in enumerate(self._lines()):
                f.write(("," if n else "") + "\n  " + json.dumps(row))
            f.write("\n]\n")

    def _write_csv(self, path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=OUTCOME_FIELDS)
            writer.writeheader()
            writer.writerows(self._lines())

    def close(self) -> None:
        self.file.close()
        self.rows.unlink(missing_ok=True)


OUTCOME_FIELDS = [f.name for f in fields(Outcome)]


def read_summary(location: str) -> Iterator[Outcome]:
    """The rows of a batch-summary.json, as outcomes."""
    text = storage.read_text(location, limit=1 << 30) or "[]"
    for row in json.loads(text):
        yield Outcome(**row)


def _our_json(text: str) -> bool:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(rows, list) and all(isinstance(r, dict) and list(r) == OUTCOME_FIELDS for r in rows)


def _our_csv(text: str) -> bool:
    return next(csv.reader(io.StringIO(text)), None) == OUTCOME_FIELDS


#: Videos in flight per worker: enough that a worker never waits for the next video's plan, few enough that
#: the object store holds only a few videos' parts at a time.
WINDOW_PER_WORKER = 2


def run_batch(
    items: Iterator[Item],
    recipes: Callable[[Item], tuple[Recipe, str] | str],
    options: RenderOptions,
    shard: ShardOptions,
    summary: Summary,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[Outcome], None] | None = None,
    overwrite: bool = False,
    executor: Executor | None = None,
    from_folder: bool = False,
    folder: Path | None = None,
) -> None:
    """Render every item; `recipes(item)` gives (recipe, digest) or the error that makes the item's style
    unusable (`Recipes`). Outcomes go to `summary` and `log` as each item ends; `progress(label, done,
    total)` is called per video as frames complete. `overwrite`: replace files at output paths that are not
    this batch's own outputs. `from_folder`: the items are a folder's videos, of which files an earlier
    batch made are left out. `folder`: where a full disk is reported (the output folder, or the local
    temporary folder for outputs in object storage)."""
    folder = folder or Path(tempfile.gettempdir())
    executor = executor or executor_for(options, shard, 2, 0.0, always_ray=True)
    items_by_index: dict[int, Item] = {}
    needed: dict[int, int] = {}  # bytes each video in flight writes beside its output (for a full disk's line)

    def end(index: int, outcome: Outcome) -> None:
        summary.add(index, outcome)
        if log:
            log(outcome)

    def tasks() -> Iterator[VideoTask]:
        for index, item in enumerate(items):
            base = Outcome(video=item.source, style=item.label, output=item.target, status="failed")
            made = None if item.error else recipes(item)
            if item.error or isinstance(made, str):
                end(index, Outcome(**{**asdict(base), "error": item.error or str(made)}))
                continue
            assert made is not None
            recipe, digest = made
            executor.add_recipe(item.key, recipe)
            items_by_index[index] = item
            yield VideoTask(index, item.source, item.target, item.key, item.label, digest, overwrite, from_folder)

    def planned(task: VideoTask, plan: Plan) -> None:
        needed[task.index] = plan.needed

    def ended(result: Ended) -> None:
        needed.pop(result.task.index, None)
        item = items_by_index.pop(result.task.index)
        if result.status == "ignored":  # a folder's file that an earlier batch made: not an input
            return
        end(
            result.task.index,
            Outcome(
                video=item.source,
                style=item.label,
                output=item.target,
                status=result.status,
                frames=result.frames,
                seconds=result.seconds,
                error=result.error,
            ),
        )

    def report(task: VideoTask, done: int, total: int) -> None:
        if progress:
            progress(f"{storage.name(task.source)} [{task.label}]", done, total)

    workers = max(1, getattr(executor, "size", 1))
    try:
        with space_checked(folder, lambda: sum(needed.values())):
            drive(tasks(), executor, ended, window=WINDOW_PER_WORKER * workers + 1, progress=report, on_plan=planned)
    finally:
        executor.close()


def digest_file(path: str | Path) -> str:
    with storage.opened(path) as handle:
        if isinstance(handle, str):
            return hashlib.sha256(Path(handle).read_bytes()).hexdigest()[:16]
        return hashlib.sha256(handle.read()).hexdigest()[:16]


class Recipes:
    """Each distinct recipe built once, when its first item comes: (recipe, digest of what defines it), or
    the error that makes it unusable (an unknown style fails only its own items). The same rule as `render`
    (`choice.make_recipe`): a painting is fast unless `method` is nst; a style code's `strength` below 1
    moves it towards each video's own code, so such items get a recipe per video (`Item.key`), which reads
    8 frames of the video here. `nst` configures the keyframes of `method` nst (`options.VIDEO_NST`,
    the defaults `render` uses too)."""

    def __init__(
        self,
        method: str = "fast",
        strength: float = 1.0,
        preserve_color: bool = False,
        nst: NSTOptions | None = None,
    ):
        self.method, self.nst = method, nst
        self.strength, self.preserve_color = strength, preserve_color
        self.made: dict[str, tuple[Recipe, str] | str] = {}

    def __call__(self, item: Item) -> tuple[Recipe, str] | str:
        from dataclasses import replace as replaced

        from vidstyle.pipeline.choice import CONTENT_FRAMES, make_recipe
        from vidstyle.pipeline.preview import sample
        from vidstyle.pipeline.stylizers import CodeRecipe, ImageRecipe

        if item.key in self.made:
            return self.made[item.key]
        if item.image:
            choice = StyleChoice(style_image=Path(item.style), method=self.method)
        else:
            choice = StyleChoice(blend=item.style) if item.blend else StyleChoice(item.style)
        choice = replaced(choice, strength=self.strength, preserve_color=self.preserve_color)
        try:
            recipe = make_recipe(choice, lambda: sample(item.source, CONTENT_FRAMES, "even")[2], self.nst)
        except VidstyleError as exc:
            self.made[item.key] = str(exc)
            return str(exc)
        if isinstance(recipe, CodeRecipe):
            digest = hashlib.sha256(recipe.code.tobytes()).hexdigest() + f" at {recipe.side}"
        elif isinstance(recipe, ImageRecipe):
            digest = digest_file(item.style) + repr(replaced(recipe.nst, vgg_weights=None))
        else:
            assert recipe.style.path is not None  # a network's style comes from a file (read_info)
            digest = digest_file(recipe.style.path)
        digest += repr(recipe.finish)
        if isinstance(recipe, CodeRecipe) and self.strength < 1.0:
            item.key = f"{item.style}|{item.source}"  # the code depends on this video: not kept beyond it
            return recipe, digest
        self.made[item.key] = (recipe, digest)
        return recipe, digest
