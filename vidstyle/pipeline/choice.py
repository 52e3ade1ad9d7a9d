"""What the user asked to paint with, turned into a recipe the workers can build: one rule for `render`,
`batch`, `preview` and `image`, so the same words give the same pictures everywhere.

A choice is one of: an installed style (`--style NAME` or a .vstyle file), a painting (`--style-image`,
fast by default: the arbitrary-style network; `--method nst`: Gatys optimisation), or a blend
(`--blend "muse=0.7,wave.jpg=0.3"`: paintings and code styles, mixed by their style codes). On top:
- `strength` in [0, 1]. For anything with a style code (paintings, built-ins, blends) it interpolates the
  code towards the content's own code (Ghiasi et al. 2017); the content's code is computed once per job,
  from frames spread over the whole video, never per frame, so it cannot flicker. For a trained network
  or NST, which have no code, it is the share of the stylised frame in a mix with the source frame.
- `preserve_color`: the stylised frame's luminance with the source's colours, for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidstyle.checks import decimal, finite_number
from vidstyle.errors import VidstyleError
from vidstyle.media.images import read_rgb
from vidstyle.models import arbitrary
from vidstyle.models.styles import load_code, resolve_network, resolve_style
from vidstyle.pipeline.stylizers import CodeRecipe, Finish, Recipe, as_recipe

METHODS = ("fast", "nst")
#: A painting smaller than this on its shorter side carries too little texture to take a style from.
MIN_PAINTING_SIDE = 32
#: How many frames, spread over the video, give the content's own style code (for `strength` < 1).
CONTENT_FRAMES = 8


@dataclass
class StyleChoice:
    style: str | None = None  # an installed style name, or a .vstyle file
    style_image: Path | None = None  # a painting
    blend: str | None = None  # "NAME_OR_PAINTING=WEIGHT,..."
    method: str = "fast"  # for style_image: fast (feed-forward) or nst (Gatys keyframes)
    strength: float = 1.0
    preserve_color: bool = False

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
        if self.method not in METHODS:
            raise VidstyleError(f"--method must be one of {', '.join(METHODS)}, not {self.method!r}.")
        check_strength(self.strength)
        if self.method == "nst" and self.style_image is None:
            raise VidstyleError("--method nst optimises a painting: give --style-image with it.")

    @property
    def label(self) -> str:
        """Short name for file names and summaries."""
        if self.blend is not None:
            return "blend"
        return Path(self.style_image).stem if self.style_image is not None else Path(str(self.style)).stem


def checked(choice: object, name: str = "choice") -> StyleChoice:
    """`choice` if it is a good StyleChoice; TypeError naming the argument for anything else (a style's name
    given where its StyleChoice belongs), else the choice's own one line."""
    if not isinstance(choice, StyleChoice):
        hint = f" (StyleChoice(style={choice!r}))" if isinstance(choice, str) else ""
        raise TypeError(f"{name} must be a StyleChoice{hint}, not {type(choice).__name__}.")
    choice.check()
    return choice


def check_strength(strength: float) -> None:
    finite_number(strength, "--strength", 0.0, 1.0)


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


def read_painting(path: Path) -> np.ndarray:
    rgb = read_rgb(path)
    if min(rgb.shape[:2]) < MIN_PAINTING_SIDE:
        raise VidstyleError(
            f"{path}: the painting is {rgb.shape[1]}x{rgb.shape[0]}; a style needs at least "
            f"{MIN_PAINTING_SIDE} pixels on its shorter side."
        )
    return rgb


def painting_code(net: arbitrary.ArbitraryNet, painting: np.ndarray) -> np.ndarray:
    return net.code(net.embed(torch.from_numpy(np.array(painting))[None]))[0].numpy()


def content_code(net: arbitrary.ArbitraryNet, frames: list[np.ndarray]) -> np.ndarray:
    """The content's own style code: the mean embedding of `frames`, each seen whole."""
    embeddings = torch.cat([net.embed(torch.from_numpy(np.array(f))[None], square=False) for f in frames])
    return net.code(embeddings.mean(0, keepdim=True))[0].numpy()


def _is_painting(name: str) -> bool:
    """A blend member that names a picture file rather than a style."""
    path = Path(name).expanduser()
    return path.is_file() and path.suffix.lower() != ".vstyle"


def _code_of(name: str, net: arbitrary.ArbitraryNet) -> np.ndarray:
    """A blend member: a painting file, or an installed code style."""
    if _is_painting(name):
        return painting_code(net, read_painting(Path(name).expanduser()))
    style = resolve_style(name)
    if style.kind != "code":
        raise VidstyleError(
            f"{name!r} is a trained network of its own; --blend mixes paintings and built-in "
            "styles (style codes of the arbitrary-style network)."
        )
    return load_code(style)


def make_recipe(
    choice: StyleChoice,
    content: Callable[[], list[np.ndarray]],
    arch: str = "auto",
    on_cpu: bool = True,
    nst_recipe: Callable[[np.ndarray], Recipe] | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[Recipe, Finish]:
    """The recipe and finish for a choice. `content()` gives frames of the video (or the photo) and is
    called only when a code's strength needs them; `nst_recipe(painting)` builds the Gatys recipe."""
    checked(choice)
    if choice.method == "nst":
        if nst_recipe is None:
            raise VidstyleError("--method nst is not available here.")
        # NST keeps colours inside its optimisation (NSTOptions.preserve_color)
        return nst_recipe(read_painting(Path(choice.style_image))), Finish(choice.strength, False)
    if choice.style is not None:
        style, lite = resolve_network(choice.style, arch, on_cpu)
        if lite and note:
            note(f"using {style.name}, the lite network of {choice.style} (--arch full for the full one)")
        if style.kind != "code":
            return as_recipe(style), Finish(choice.strength, choice.preserve_color)
        codes, label, side = [(load_code(style), 1.0)], style.name, None
    else:
        net = arbitrary.shipped()
        side = arbitrary.PAINTING_SIDE  # a painting in the blend paints at the predictor's scale
        if choice.style_image is not None:
            codes, label = [(painting_code(net, read_painting(Path(choice.style_image))), 1.0)], choice.label
        else:
            members = parse_blend(choice.blend)
            codes, label = [(_code_of(n, net), w) for n, w in members], choice.blend
            if not any(_is_painting(n) for n, _ in members):
                side = None
    shares = blend_shares([w for _, w in codes])
    code = sum(c * share for (c, _), share in zip(codes, shares, strict=True))
    if choice.strength < 1.0:
        own = content_code(arbitrary.shipped(), content())
        code = choice.strength * code + (1.0 - choice.strength) * own
    return CodeRecipe.of(code, label, side), Finish(choice.strength, choice.preserve_color)
