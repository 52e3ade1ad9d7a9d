"""Numbers and names as they come in from users and files, checked in one place so every door refuses the
same things in the same words: a number that is not finite or out of range, a weight typed as `inf` or
`1_000`, a style name that would become a path, a tensor holding NaN. Each failure is one `VidstyleError`."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from numbers import Real
from typing import Any

from vidstyle.errors import VidstyleError

#: A number as people write one: digits, an optional point and exponent, an optional sign; no `inf`, `nan`,
#: `0x10` or `1_000` (which Python's float() reads, and people do not mean as weights).
#: The largest seed: any 32-bit number, which numpy and torch both take.
MAX_SEED = 2**32 - 1

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def _bounds(low: float | None, high: float | None, above: bool) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"a finite number {'>' if above else '>='} {low:g}"
    return "a finite number"


def finite_number(
    value: Any, what: str, low: float | None = None, high: float | None = None, *, above: bool = False
) -> float:
    """`value` as a float if it is a real number (not a bool), finite, and within [low, high] (above `low`
    with `above`); else one line naming `what`."""
    wanted = _bounds(low, high, above)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise VidstyleError(f"{what} must be {wanted}, not {value!r}.")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        number = math.inf
    if (
        not math.isfinite(number)
        or (low is not None and (number <= low if above else number < low))
        or (high is not None and number > high)
    ):
        raise VidstyleError(f"{what} must be {wanted}, not {value}.")
    return number


def whole_number(value: Any, what: str, low: int, high: int | None = None, *, name: str = "") -> int:
    """`value` if it is an int (not a bool) in [low, high]; else one line naming `what` (the option). With
    `name` (a library argument or field), a value of another kind is a TypeError naming it: a caller's bug,
    not a user's typo."""
    wanted = f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        if name:
            raise TypeError(f"{name} must be a whole number, not {type(value).__name__}.")
        raise VidstyleError(f"{what} must be {wanted}, not {value!r}.")
    if value < low or (high is not None and value > high):
        raise VidstyleError(f"{what} must be {wanted}, not {value!r}.")
    return value


def decimal(text: str, what: str) -> float:
    """A number a user typed (a weight in `--blend` or a manifest): plain decimal notation only, finite."""
    advice = "write it like 0.7, 2 or 1e-3"
    if not _DECIMAL.fullmatch(text.strip()):
        raise VidstyleError(f"{what} is not a number ({text.strip()!r}); {advice}.")
    number = float(text)
    if not math.isfinite(number):
        raise VidstyleError(f"{what} is infinite or too large ({text.strip()!r}); {advice}.")
    return number


def check_name(name: Any, what: str = "--name") -> str:
    """A style name, which becomes a file name (`NAME.vstyle`): one path component, not hidden, printable."""
    if not isinstance(name, str) or not name.strip():
        raise VidstyleError(f"{what} must be a name like 'my-style', not {name!r}.")
    problem = (
        "holds a path separator"
        if "/" in name or "\\" in name
        else "starts with a dot"
        if name.startswith(".")
        else "holds a control character"
        if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)
        else "starts or ends with a space"
        if name != name.strip()
        else "is too long"
        if len(name.encode("utf-8", "surrogatepass")) > 200
        else None
    )
    if problem:
        raise VidstyleError(f"{what} {name!r} {problem}; style names are plain names like 'my-style'.")
    return name


def check_finite(tensors: Iterable[tuple[str, Any]], where: str) -> None:
    """Every floating-point tensor or array in `tensors` (name, value) holds finite numbers only: a NaN or
    infinity in a style code or a network paints black, so such a file is refused, never written."""
    import numpy as np
    import torch

    for name, value in tensors:
        if isinstance(value, torch.Tensor):
            bad = value.is_floating_point() and not bool(torch.isfinite(value).all())
        else:
            array = np.asarray(value)
            bad = array.dtype.kind in "fc" and not bool(np.isfinite(array).all())
        if bad:
            raise VidstyleError(f"{where}: {name} holds NaN or infinite values; it cannot paint anything.")


def diverged(step: int, what: str) -> VidstyleError:
    """The one line a training run stops with when `what` (its loss, code or weights) is no longer finite."""
    return VidstyleError(
        f"training diverged at step {step} ({what} is NaN or infinite) and stopped; nothing of that step was "
        "saved: lower --lr or the loss weights, or start again without --resume."
    )
