"""Every option and choice vidstyle takes, in one place, for the library and the command line alike.

The dataclasses are what the library's functions take; their field defaults are the only defaults there are
(the CLI reads them, so `render_video(...)` paints the video `vidstyle render` paints). Each has a `check`
that a job runs before any work (fields can be changed after they are made), so the library refuses what the
CLI refuses, in the same words; `RenderOptions`, `StabilizeOptions` and `ShardOptions` also check when made
(a `StyleChoice` or `NSTOptions` is often made empty, or in steps, and checked whole). Choices are Enums of
strings: Typer lists them in --help and refuses anything else; the library takes the Enum or its string.

This module imports nothing heavy (no torch, PyAV, OpenCV or Ray): `vidstyle --help` is built from it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from vidstyle.checks import MAX_SEED, decimal, finite_number, whole_number
from vidstyle.errors import VidstyleError
from vidstyle.vgg_layers import JOHNSON

#: Where the VGG ImageNet weights for the losses are, when no option names them.
VGG_WEIGHTS_ENV = "VIDSTYLE_VGG_WEIGHTS"


class Choice(str, Enum):
    """A fixed set of words for an option. Members are strings (`Method.fast == "fast"`)."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def check(cls, value: object, option: str) -> None:
        """VidstyleError naming the option and the choices for anything not among them."""
        if not isinstance(value, str) or value not in {m.value for m in cls}:
            raise VidstyleError(f"{option} must be one of {', '.join(m.value for m in cls)}, not {value!r}.")


def plain_choices(options: object) -> None:
    """Every Choice member among `options`' fields as its plain string: libraries written in C (PyAV's
    Cython) refuse a subclass of str where a str belongs."""
    for name, value in vars(options).items():
        if isinstance(value, Choice):
            object.__setattr__(options, name, value.value)  # frozen dataclasses too


class Method(Choice):
    fast = "fast"  # a feed-forward network, one pass per frame
    nst = "nst"  # Gatys et al.'s optimisation, on keyframes


class CompileMode(Choice):
    auto = "auto"
    on = "on"
    off = "off"


class Precision(Choice):
    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


class Preset(Choice):
    """x264's speed presets, fastest first."""

    ultrafast = "ultrafast"
    superfast = "superfast"
    veryfast = "veryfast"
    faster = "faster"
    fast = "fast"
    medium = "medium"
    slow = "slow"
    slower = "slower"
    veryslow = "veryslow"
    placebo = "placebo"


class Optimizer(Choice):
    lbfgs = "lbfgs"
    adam = "adam"


class Init(Choice):
    content = "content"
    noise = "noise"


class Flow(Choice):
    """DIS optical flow presets for the stabiliser (`temporal/flow.py` maps them to OpenCV's)."""

    ultrafast = "ultrafast"
    fast = "fast"
    medium = "medium"


class At(Choice):
    even = "even"
    keyframes = "keyframes"


class Arch(Choice):
    """A trained network's size (`vidstyle train`): full, or lite (~3x faster on a CPU)."""

    full = "full"
    lite = "lite"


#: The width of a trained network of each size (Johnson et al.'s is 32).
ARCH_BASE = {Arch.full.value: 32, Arch.lite.value: 16}


class ContentLayer(Choice):
    """Where training measures content (`vidstyle train --content-layer`): deeper keeps shapes, not pixels."""

    relu1_2 = "relu1_2"
    relu2_2 = "relu2_2"
    relu3_3 = "relu3_3"
    relu4_3 = "relu4_3"


@dataclass
class StyleChoice:
    """What to paint with: exactly one of an installed style (a name or a .vstyle file), a painting, or a
    blend ("muse=0.7,wave.jpg=0.3"); then how much of it and whether the source keeps its colours."""

    style: str | None = None
    style_image: str | Path | None = None
    blend: str | None = None
    method: str = Method.fast.value  # for style_image: fast (the arbitrary-style network) or nst (Gatys keyframes)
    strength: float = 1.0
    preserve_color: bool = False

    def __post_init__(self) -> None:
        plain_choices(self)

    def check(self) -> None:
        for name, kinds in (("style", (str,)), ("style_image", (str, Path)), ("blend", (str,))):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kinds):
                raise TypeError(
                    f"StyleChoice.{name} must be a {' or '.join(k.__name__ for k in kinds)}, not "
                    f"{type(value).__name__}."
                )
        if isinstance(self.strength, bool) or not isinstance(self.strength, (int, float)):
            raise TypeError(f"StyleChoice.strength must be a number, not {type(self.strength).__name__}.")
        given = [x for x in (self.style, self.style_image, self.blend) if x is not None]
        if len(given) != 1:
            raise VidstyleError(
                "give exactly one of --style NAME, --style-image PAINTING or --blend 'NAME=WEIGHT,PAINTING=WEIGHT'."
            )
        Method.check(self.method, "--method")
        finite_number(self.strength, "--strength", 0.0, 1.0)
        if self.method == Method.nst and self.style_image is None:
            raise VidstyleError("--method nst optimises a painting: give --style-image with it.")
        if self.blend is not None:
            parse_blend(self.blend)

    @property
    def label(self) -> str:
        """Short name for file names and summaries."""
        if self.blend is not None:
            return "blend"
        return Path(self.style_image).stem if self.style_image is not None else Path(str(self.style)).stem


def parse_blend(text: str) -> list[tuple[str, float]]:
    """'muse=0.7,wave.jpg=0.3' -> [(muse, 0.7), (wave.jpg, 0.3)]; weights finite, >= 0 and not all 0."""
    if not isinstance(text, str):
        raise VidstyleError(f"--blend takes 'NAME=WEIGHT,...' as text, not {text!r}.")
    parts = []
    for item in (p.strip() for p in text.split(",")):
        name, sep, weight = item.rpartition("=")
        if not sep or not name.strip():
            raise VidstyleError(f"--blend takes NAME=WEIGHT pairs separated by commas, not {item!r}.")
        w = decimal(weight, f"--blend: the weight of {name.strip()!r}")
        if w < 0:
            raise VidstyleError(
                f"--blend: weight {weight.strip()} of {name.strip()!r} is negative; weights mix, they do not subtract."
            )
        parts.append((name.strip(), w))
    blend_shares([w for _, w in parts])
    return parts


def blend_shares(weights: list[float]) -> list[float]:
    """Weights as shares summing to 1, computed so no sum can overflow (each divided by the largest first)."""
    for w in weights:
        finite_number(w, "--blend: each weight", 0.0)
    largest = max(weights, default=0.0)
    if largest <= 0:
        raise VidstyleError("--blend: the weights must add up to a positive number.")
    scaled = [w / largest for w in weights]
    total = sum(scaled)
    return [w / total for w in scaled]


@dataclass
class BatchRequest:
    """What to render: every video of a folder (or the rows of a manifest) in every style given. Inputs,
    manifests and the output folder are local paths or URLs (`storage`: s3:// with vidstyle[s3])."""

    inputs: str | Path  # a folder of videos, or a .csv / .jsonl manifest
    out_dir: str | Path
    styles: list[str] = field(default_factory=list)
    paintings: Sequence[str | Path] = field(default_factory=list)
    blends: list[str] = field(default_factory=list)
    method: str = StyleChoice.method
    strength: float = StyleChoice.strength
    preserve_color: bool = StyleChoice.preserve_color
    suffix: str = ".mp4"
    overwrite: bool = False  # replace files at output paths that are not this batch's own outputs

    def __post_init__(self) -> None:
        plain_choices(self)

    def check(self) -> None:
        Method.check(self.method, "--method")
        finite_number(self.strength, "--strength", 0.0, 1.0)
        if self.method == Method.nst and (self.styles or self.blends):
            raise VidstyleError("--method nst optimises paintings: give --style-image, not --style or --blend.")
        for text in self.blends:
            parse_blend(text)  # a bad blend given for every video is the command's error, before any work


@dataclass
class StabilizeOptions:
    """Temporal stabilisation: each output frame blended with the previous output carried along the input's
    optical flow, where visible (`temporal/stabilizer.py`)."""

    # The previous output's weight. At 0.5 (with the stabiliser's SLACK) the warping error fell by 65-73% on
    # cup.mp4, fox.mp4 and their dark and flat copies, style drift at most 0.027 (bench/flicker.py); at 0.4
    # with the metric's slack by 50-62%; at 0.55 the dark cup's Wave drifted past 0.03.
    strength: float = 0.5
    side: int = 384  # flow is computed at most this large (flow is smooth; the warp is full size)
    lead: int = 8  # frames before a segment that only prime the state, so segment seams do not jump
    # DIS preset (flow.PRESETS). On cup.mp4 with muse (warping error over 60 pairs; per-frame 0.0244) "medium"
    # left 0.0083, "fast" 0.0094 and "ultrafast" 0.0119; "fast" costs a third of "medium"'s CPU, which on a
    # 2-core machine is about a tenth of a render's.
    flow: str = Flow.fast.value

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        plain_choices(self)
        finite_number(self.strength, "--stabilize", 0.0, 0.95)
        Flow.check(self.flow, "StabilizeOptions.flow")
        whole_number(self.side, "StabilizeOptions.side", 16)
        whole_number(self.lead, "StabilizeOptions.lead", 0)


@dataclass(frozen=True)
class NSTOptions:
    """Gatys et al.'s optimisation (`--method nst`), for a picture, a preview and a video's keyframes alike.
    Frozen: the defaults below are shared. A video's keyframes take `VIDEO_NST` (fewer iterations: later
    keyframes start from the previous one, warped, and take half), a preview `PREVIEW_NST` (one small pass
    over the sampled frames), a picture the defaults as written."""

    size: int = 384  # longer side of the result, in pixels (a video: unless --max-side says otherwise)
    iterations: int = 300  # in all, split evenly over the levels
    levels: int = 2  # coarse-to-fine: each level doubles the previous one's size, ending at `size`
    optimizer: str = Optimizer.lbfgs.value
    lr: float = 0.02  # Adam's step, in [0, 1] pixel units
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 10.0
    init: str = Init.content.value
    preserve_color: bool = False  # keep the photo's colours, take only the painting's luminance texture
    seed: int = 0
    keyframe_every: int = 12  # a video: at most this many frames between optimised keyframes
    vgg_weights: Path | None = None  # VGG ImageNet weights for the losses (else torchvision's cached file)

    def __post_init__(self) -> None:
        plain_choices(self)

    def check(self) -> None:
        Optimizer.check(self.optimizer, "--optimizer")
        Init.check(self.init, "--init")
        whole_number(self.levels, "--levels", 1, 5)
        whole_number(self.iterations, "--iterations", 2)
        whole_number(self.size, "--size", 32)
        whole_number(self.keyframe_every, "--keyframe-every", 1)
        finite_number(self.lr, "--lr", 0.0, above=True)
        for weight in ("content_weight", "style_weight", "tv_weight"):
            finite_number(getattr(self, weight), "--" + weight.replace("_", "-"), 0.0)
        if self.iterations < self.levels:
            raise VidstyleError(f"--iterations must be at least the number of levels ({self.levels}).")
        if self.size >> (self.levels - 1) < 32:
            raise VidstyleError(f"{self.levels} levels from {self.size} px go below 32 px; use fewer levels.")


VIDEO_NST = NSTOptions(iterations=200)
PREVIEW_NST = NSTOptions(size=256, iterations=100)
#: A preview's sheet: how many frames it samples, where (`At`), and its thumbnails' width in pixels.
PREVIEW_FRAMES, PREVIEW_AT, PREVIEW_THUMB = 8, At.even.value, 320


@dataclass
class RenderOptions:
    """How a video is painted and encoded (every field decides its pixels; a batch's fingerprint hashes them)."""

    device: str = "auto"  # auto, cpu, cuda or cuda:N
    batch_size: int = 4  # frames per network call
    max_side: int | None = None  # paint at most this long a side, then scale back (None: the frame's own)
    segment_seconds: float = 10.0  # the timeline is cut at keyframes about this far apart
    crf: int | None = None  # None: x264's 16 (VP9: 32)
    preset: str = Preset.veryfast.value
    stabilize: StabilizeOptions | None = field(default_factory=StabilizeOptions)  # None: each frame on its own
    compile: str = CompileMode.auto.value  # torch.compile the network: on, off, or auto (when the job repays it)
    precision: str = Precision.auto.value  # the network's: auto (`acceleration.network_dtype`), fp32, fp16, bf16

    def __post_init__(self) -> None:
        plain_choices(self)
        self.check()

    def check(self) -> None:
        """TypeError for a value of the wrong kind (naming the field), VidstyleError for one out of range
        (naming the option, as the CLI does)."""
        plain_choices(self)  # a field set after the options were made
        whole_number(self.batch_size, "--batch-size", 1, name="RenderOptions.batch_size")
        if self.max_side is not None:
            whole_number(self.max_side, "--max-side", 16, name="RenderOptions.max_side")
        if self.crf is not None:
            whole_number(self.crf, "--crf", 0, 63, name="RenderOptions.crf")
        seconds = self.segment_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"RenderOptions.segment_seconds must be a number, not {type(seconds).__name__}.")
        if not 0 < seconds < float("inf"):  # NaN too
            raise VidstyleError(f"segment_seconds must be a finite number of seconds above 0, not {seconds}.")
        if not isinstance(self.device, str):
            raise TypeError(f"RenderOptions.device must be a str, not {type(self.device).__name__}.")
        Preset.check(self.preset, "--preset")
        CompileMode.check(self.compile, "--compile")
        Precision.check(self.precision, "--precision")
        if self.stabilize is not None:
            if not isinstance(self.stabilize, StabilizeOptions):
                raise TypeError(
                    f"RenderOptions.stabilize must be a StabilizeOptions, not {type(self.stabilize).__name__}."
                )
            self.stabilize.check()

    def with_stabilize(self, strength: float) -> RenderOptions:
        """These options with stabilisation at `strength` (0: off), the other StabilizeOptions kept."""
        finite_number(strength, "--stabilize", 0.0, 0.95)
        return replace(
            self, stabilize=replace(self.stabilize or StabilizeOptions(), strength=strength) if strength > 0 else None
        )


@dataclass
class ShardOptions:
    """Where the work runs: `address` names a Ray cluster (None: RAY_ADDRESS if set, read once by
    `resolved`, else a Ray of our own on this machine, started only where it helps); `workers` asks for that
    many actors (None: as many as the machine's CPUs and GPUs suit)."""

    workers: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.workers is not None:
            whole_number(self.workers, "--workers", 1, name="ShardOptions.workers")
        if self.address is not None and not isinstance(self.address, str):
            raise TypeError(f"ShardOptions.address must be a str, not {type(self.address).__name__}.")

    def resolved(self) -> ShardOptions:
        """These options with RAY_ADDRESS read, once, at the job's start: nothing after this reads it."""
        return replace(self, address=self.address or os.environ.get("RAY_ADDRESS") or None)


@dataclass
class TrainOptions:
    """Training a feed-forward network for one painting (`vidstyle train`, Johnson et al. 2016)."""

    steps: int = 2000
    batch_size: int = 4  # crops per step, over all workers
    crop: int = 256  # side of the square random crops
    photo_size: int = 0  # scale photos so their shorter side is this before cropping (0: as they are)
    lr: float = 1e-3
    content_weight: float = 1.0
    content_layer: str = JOHNSON.content  # a deeper layer (relu3_3, relu4_3) keeps shapes, not pixels
    style_weight: float = 5.0
    tv_weight: float = 1.0
    style_size: int = 512  # the painting's longer side for its Gram matrices (sets the brush-stroke scale)
    base: int = 32  # network width (32 = Johnson's; 16 = the lighter network)
    residual_blocks: int = 5
    checkpoint_every: int = 200
    preview_every: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        plain_choices(self)  # saved in checkpoints, which load with weights_only: plain strings only

    def check(self) -> None:
        """What a run needs of its options: finite non-negative weights, a positive learning rate, sizes and
        counts of at least one (crops of 16, Gram targets of 32 pixels), a seed numpy and torch take, a
        content layer VGG computes."""
        plain_choices(self)
        finite_number(self.lr, "--lr", 0.0, above=True)
        whole_number(self.crop, "--crop", 16)
        whole_number(self.style_size, "--style-size", 32)
        for weight in ("content_weight", "style_weight", "tv_weight"):
            finite_number(getattr(self, weight), "--" + weight.replace("_", "-"), 0.0)
        for count in ("steps", "batch_size", "base", "checkpoint_every", "preview_every"):
            whole_number(getattr(self, count), "--" + count.replace("_", "-"), 1)
        whole_number(self.photo_size, "--photo-size", 0)
        whole_number(self.residual_blocks, "residual_blocks", 0)
        whole_number(self.seed, "--seed", 0, MAX_SEED)
        if self.content_layer not in JOHNSON.all:
            raise VidstyleError(f"--content-layer must be one of {', '.join(JOHNSON.all)}.")


@dataclass
class CodeTrainOptions:
    """Tuning a style code for the arbitrary-style network (`vidstyle train-code`)."""

    steps: int = 100  # the built-ins' recipe (pipelines/train_builtin.sh), measured by bench/style_quality.py
    batch_size: int = 2
    crop: int = 192
    photo_side: int = 480
    lr: float = 0.05
    content_weight: float = 1.0
    style_weight: float = 20.0
    tv_weight: float = 10.0
    laplacian_weight: float = 0.0
    checkpoint_every: int = 25
    seed: int = 0

    def __post_init__(self) -> None:
        plain_choices(self)

    def check(self) -> None:
        """What a run needs of its options: finite non-negative weights, a positive learning rate, sizes and
        counts of at least one (crops of 32, photos of 64 pixels), a seed numpy and torch take."""
        plain_choices(self)
        finite_number(self.lr, "--lr", 0.0, above=True)
        whole_number(self.crop, "--crop", 32)
        whole_number(self.photo_side, "--photo-side", 64)
        for weight in ("content_weight", "style_weight", "tv_weight", "laplacian_weight"):
            finite_number(getattr(self, weight), "--" + weight.replace("_", "-"), 0.0)
        for count in ("steps", "batch_size", "checkpoint_every"):
            whole_number(getattr(self, count), "--" + count.replace("_", "-"), 1)
        whole_number(self.seed, "--seed", 0, MAX_SEED)


@dataclass
class Credits:
    """What `vidstyle styles` shows of a style: its name, the painting, the painter, the weights' licence,
    and the command that made it (`made_by`: the CLI passes its own command line)."""

    name: str
    painting: str = ""
    artist: str = ""
    licence: str = ""
    made_by: str = ""
