"""Made on first use: names a package re-exports, imported from their home modules (PEP 562), so
importing the package stays cheap (``__getattr__ = lazy_names(__name__, {"Name": "package.module"})``);
and an object's own locks."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from typing import cast


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


_LOCKS_MADE = threading.Lock()


def own_lock(owner: object, name: str) -> threading.Lock:
    """The lock ``name`` of ``owner`` (kept in its ``__dict__``), made by the first thread to ask:
    for classes whose instances are made by code that does not know they need one."""
    lock = owner.__dict__.get(name)
    if lock is None:
        with _LOCKS_MADE:
            lock = owner.__dict__.setdefault(name, threading.Lock())
    return cast("threading.Lock", lock)
