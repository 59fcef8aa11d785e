"""The one loader of "module:Class" plugins: engines, formats and alert sinks all use it."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from quanta import plugins
from quanta.engines import Engine, EngineError, engine_names, get_engine
from quanta.engines.duckdb import DuckDBEngine
from quanta.errors import FormatError, PluginError
from quanta.observability.alerts import AlertSink, sink_class, sink_types
from quanta.plugins import PluginRegistry, load_spec
from quanta.spec.formats import exporter


def test_a_good_spec_loads_its_class() -> None:
    assert load_spec("quanta.engines.duckdb:DuckDBEngine", Engine) is DuckDBEngine


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("quanta.no_such_module:Thing", "cannot import module 'quanta.no_such_module'"),
        ("quanta.engines.duckdb:NoSuchEngine", "has no attribute 'NoSuchEngine'"),
        ("quanta.engines.duckdb", "is not of the form 'module:Class'"),
        ("quanta.errors:QuantaError", "is not a subclass of Engine"),
    ],
)
def test_a_bad_spec_names_itself_and_how_to_fix_it(spec: str, words: str) -> None:
    with pytest.raises(PluginError) as caught:
        load_spec(spec, Engine)
    assert spec in caught.value.message and words in caught.value.message
    assert caught.value.hint


def _entry_points(group: str, found: dict[str, str]) -> Any:
    def select(*, group: str) -> list[EntryPoint]:
        return [EntryPoint(name, value, group) for name, value in found.items()] if group == wanted else []

    wanted = group
    return select


def test_entry_points_of_the_group_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins,
        "entry_points",
        _entry_points("quanta.engines", {"other": "quanta.engines.duckdb:DuckDBEngine"}),
    )
    assert engine_names() == ["duckdb", "other"]
    assert isinstance(get_engine("other"), DuckDBEngine)


def test_a_broken_entry_point_is_reported_by_its_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins, "entry_points", _entry_points("quanta.alert_sinks", {"pager": "pager_plugin:Sink"})
    )
    assert "pager" in sink_types()
    with pytest.raises(PluginError, match="'pager_plugin:Sink'"):
        sink_class("pager")


def test_unknown_names_keep_each_area_s_own_answer() -> None:
    with pytest.raises(EngineError, match="unknown engine 'nope'"):
        get_engine("nope")
    with pytest.raises(FormatError, match="unknown export format 'nope'"):
        exporter("nope")
    assert sink_class("nope") is None
    webhook = sink_class("webhook")
    assert webhook is not None and issubclass(webhook, AlertSink)


def test_a_registry_lists_builtins_first_then_plugins() -> None:
    registry: PluginRegistry[Engine] = PluginRegistry(
        "quanta.none", {"duckdb": "quanta.engines.duckdb:DuckDBEngine"}, Engine
    )
    assert registry.names() == ["duckdb"] and registry.find("duckdb") is DuckDBEngine
    assert registry.find("spark") is None
