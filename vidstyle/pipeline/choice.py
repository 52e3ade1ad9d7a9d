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
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from vidstyle.errors import VidstyleError
from vidstyle.media.images import read_rgb
from vidstyle.models import arbitrary
from vidstyle.models.styles import load_code, resolve_style
from vidstyle.options import Method, NSTOptions, StyleChoice, blend_shares, parse_blend
from vidstyle.pipeline.stylizers import CodeRecipe, Finish, ImageRecipe, Recipe, as_recipe

#: A painting smaller than this on its shorter side carries too little texture to take a style from.
MIN_PAINTING_SIDE = 32
#: How many frames, spread over the video, give the content's own style code (for `strength` < 1).
CONTENT_FRAMES = 8


def checked(choice: object, name: str = "choice") -> StyleChoice:
    """`choice` if it is a good StyleChoice; TypeError naming the argument for anything else (a style's name
    given where its StyleChoice belongs), else the choice's own one line."""
    if not isinstance(choice, StyleChoice):
        hint = f" (StyleChoice(style={choice!r}))" if isinstance(choice, str) else ""
        raise TypeError(f"{name} must be a StyleChoice{hint}, not {type(choice).__name__}.")
    choice.check()
    return choice


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


def make_recipe(choice: StyleChoice, content: Callable[[], list[np.ndarray]], nst: NSTOptions | None = None) -> Recipe:
    """The recipe for a choice, carrying its finish (strength, colours). `content()` gives frames of the
    video (or the photo) and is called only when a code's strength needs them; `nst` configures the
    optimisation of `method` nst (a video's keyframes; pictures and previews optimise on their own)."""
    checked(choice)
    if choice.method == Method.nst:
        if nst is None:
            raise VidstyleError("--method nst is not available here.")
        # NST keeps colours inside its optimisation (NSTOptions.preserve_color)
        options = replace(nst, preserve_color=choice.preserve_color)
        recipe: Recipe = ImageRecipe.of(read_painting(Path(str(choice.style_image))), options)
        return replace(recipe, finish=Finish(choice.strength, False))
    finish = Finish(choice.strength, choice.preserve_color)
    if choice.style is not None:
        style = resolve_style(choice.style)
        if style.kind != "code":
            return replace(as_recipe(style), finish=finish)
        codes, label, side = [(load_code(style), 1.0)], style.name, None
    else:
        net = arbitrary.shipped()
        side = arbitrary.PAINTING_SIDE  # a painting in the blend paints at the predictor's scale
        if choice.style_image is not None:
            codes, label = [(painting_code(net, read_painting(Path(choice.style_image))), 1.0)], choice.label
        else:
            members = parse_blend(str(choice.blend))
            codes, label = [(_code_of(n, net), w) for n, w in members], str(choice.blend)
            if not any(_is_painting(n) for n, _ in members):
                side = None
    shares = blend_shares([w for _, w in codes])
    code = sum(c * share for (c, _), share in zip(codes, shares, strict=True))
    assert isinstance(code, np.ndarray)  # not sum()'s start, 0: there is a code (blend_shares refuses none)
    if choice.strength < 1.0:
        own = content_code(arbitrary.shipped(), content())
        code = choice.strength * code + (1.0 - choice.strength) * own
    return replace(CodeRecipe.of(code, label, side), finish=finish)
