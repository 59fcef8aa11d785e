"""One loader for everything that plugs in by name: engines, import/export formats, alert sinks.

Built-ins are listed as ``"module:Class"`` strings so nothing is imported until it is used; third
parties add theirs through an entry point group (``[project.entry-points."quanta.engines"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from quanta.errors import PluginError

T = TypeVar("T")


def load_spec(spec: str, base: type[T] | None = None) -> type[T]:
    """The class a ``"module:Class"`` spec names; ``base``, when given, is the class it must extend."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise PluginError(
            f"plugin {spec!r} is not of the form 'module:Class'", hint="write it as package.module:Class"
        )
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise PluginError(
            f"plugin {spec!r}: cannot import module {module_name!r} ({exc})",
            hint=f"install the package that provides {module_name}, or fix the module name",
        ) from exc
    found: object = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise PluginError(
                f"plugin {spec!r}: module {module_name!r} has no attribute {attribute!r}",
                hint=f"check the class name after the colon; {module_name} defines it",
            )
    if base is not None and not (isinstance(found, type) and issubclass(found, base)):
        raise PluginError(
            f"plugin {spec!r} is not a subclass of {base.__name__}",
            hint=f"point it at a class that extends {base.__module__}.{base.__name__}",
        )
    return found  # type: ignore[return-value]


@dataclass(frozen=True)
class PluginRegistry(Generic[T]):
    """Classes by name: ``builtins`` first, then the entry point ``group``."""

    group: str
    builtins: dict[str, str]
    base: type[T] | None = None

    def plugins(self) -> dict[str, str]:
        """Entry points of the group, name ► ``module:Class`` (read each time: installs change it)."""
        return {ep.name: ep.value for ep in entry_points(group=self.group)}

    def names(self) -> list[str]:
        return sorted({*self.builtins, *self.plugins()})

    def find(self, name: str) -> type[T] | None:
        """The class registered under ``name``; None when no built-in or plugin has that name."""
        spec = self.builtins.get(name) or self.plugins().get(name)
        return None if spec is None else load_spec(spec, self.base)
