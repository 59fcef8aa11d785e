"""Names a package re-exports, imported from their home modules on first use (PEP 562), so importing
the package stays cheap: ``__getattr__ = lazy_names(__name__, {"Name": "package.module", ...})``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_names(package: str, homes: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each name of ``homes`` imported from its module when
    first asked for, then kept in the package (later lookups do not come here)."""

    def __getattr__(name: str) -> object:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
