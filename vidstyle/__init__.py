"""vidstyle: neural style transfer for video, as a library.

    from vidstyle import StyleChoice, render_video, stylize_image
    render_video("clip.mp4", "clip.muse.mp4", StyleChoice(style="muse"))
    painted = stylize_image("photo.jpg", StyleChoice(style_image="painting.jpg"))  # uint8 RGB

The names below are the API the CLI, `pipelines/` and `bench/` use; everything else is an implementation
detail that may move. They load on first use, so `import vidstyle` stays cheap (no torch, PyAV or Ray
until a function needs them) and a training node never imports video code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidstyle.lazy import lazy_names
from vidstyle.version import __version__

#: name -> module that defines it
_API = {
    "VidstyleError": "vidstyle.errors",
    "StyleChoice": "vidstyle.options",
    "RenderOptions": "vidstyle.options",
    "ShardOptions": "vidstyle.options",
    "StabilizeOptions": "vidstyle.options",
    "NSTOptions": "vidstyle.options",
    "RenderReport": "vidstyle.pipeline.segments",
    "BatchRequest": "vidstyle.options",
    "render_video": "vidstyle.pipeline.api",
    "render_batch": "vidstyle.pipeline.api",
    "stylize_image": "vidstyle.pipeline.still",
    "preview_video": "vidstyle.pipeline.preview",
    "evaluate_render": "vidstyle.temporal.evaluate",
    "compare_styles": "vidstyle.temporal.evaluate",
    "TrainOptions": "vidstyle.options",
    "CodeTrainOptions": "vidstyle.options",
    "Credits": "vidstyle.train.jobs",
    "train_style": "vidstyle.train.jobs",
    "train_code_style": "vidstyle.train.jobs",
    "installed_styles": "vidstyle.models.styles",
    "describe_style": "vidstyle.models.styles",
}

__all__ = [
    "__version__",
    "VidstyleError",
    "StyleChoice",
    "RenderOptions",
    "RenderReport",
    "ShardOptions",
    "StabilizeOptions",
    "NSTOptions",
    "BatchRequest",
    "render_video",
    "render_batch",
    "stylize_image",
    "preview_video",
    "evaluate_render",
    "compare_styles",
    "TrainOptions",
    "CodeTrainOptions",
    "Credits",
    "train_style",
    "train_code_style",
    "installed_styles",
    "describe_style",
]


__getattr__ = lazy_names(globals(), _API)


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from vidstyle.errors import VidstyleError
    from vidstyle.models.styles import describe_style, installed_styles
    from vidstyle.options import BatchRequest, NSTOptions, RenderOptions, ShardOptions, StabilizeOptions, StyleChoice
    from vidstyle.pipeline.api import render_batch, render_video
    from vidstyle.pipeline.preview import preview_video
    from vidstyle.pipeline.segments import RenderReport
    from vidstyle.pipeline.still import stylize_image
    from vidstyle.temporal.evaluate import compare_styles, evaluate_render
    from vidstyle.train.code import CodeTrainOptions
    from vidstyle.train.jobs import Credits, train_code_style, train_style
    from vidstyle.train.network import TrainOptions
