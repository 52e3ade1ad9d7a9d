"""Names a package offers but loads only when first used (PEP 562), so importing the package stays cheap:
`import vidstyle` loads no torch, PyAV or Ray, and code that needs only stills never imports PyAV."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(namespace: dict[str, object], where: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that imports `where[name]` (a module path) on first use of `name` and keeps
    the value in `namespace` (the package's globals), so later uses are plain lookups."""
    package = namespace.get("__name__", "")

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        namespace[name] = value
        return value

    return __getattr__
