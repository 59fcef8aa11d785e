"""DuckDB's errors, translated once by the engine into EngineError subclasses without storage paths."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest

from quanta.engines import get_engine
from quanta.engines.base import ArrowInput, Column, FileScan
from quanta.engines.duckdb import DuckDBEngine
from quanta.errors import (
    EngineCatalogError,
    EngineConversionError,
    EngineError,
    EngineInterrupted,
    EngineIOError,
    EnginePermissionError,
    QuantaError,
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    folder = tmp_path / "warehouse"
    folder.mkdir()
    return folder


def test_a_failed_cast_is_a_conversion_error(warehouse: Path) -> None:
    engine = DuckDBEngine(storage_paths=[str(warehouse)])
    with pytest.raises(EngineConversionError) as caught:
        engine.query("select 'x'::int", {})
    assert caught.value.message.startswith("Conversion Error: Could not convert string 'x'")
    assert isinstance(caught.value, QuantaError)


def test_a_value_the_contract_type_cannot_take_fails_the_write_as_a_conversion(warehouse: Path) -> None:
    engine = DuckDBEngine(storage_paths=[str(warehouse)])
    data = ArrowInput(pa.table({"n": ["1", "two"]}))
    with pytest.raises(EngineConversionError) as caught:
        engine.write_parquet(
            "select n from data", {"data": data}, [Column(1, "n", "INTEGER")], str(warehouse / "d")
        )
    assert str(warehouse) not in caught.value.message


def test_a_csv_value_that_does_not_convert_is_a_conversion_error(warehouse: Path) -> None:
    (warehouse / "a.csv").write_text("n\n1\ntwo\n")
    scan = FileScan([str(warehouse / "a.csv")], "csv", types={"n": "INTEGER"})
    with pytest.raises(EngineConversionError) as caught:
        DuckDBEngine(storage_paths=[str(warehouse)]).query("select * from data", {"data": scan})
    assert str(warehouse) not in str(caught.value)


def test_a_missing_table_is_a_catalog_error() -> None:
    with pytest.raises(EngineCatalogError, match="Table with name nowhere does not exist"):
        get_engine().query("select * from nowhere", {})


def test_a_missing_file_is_an_io_error_without_the_warehouse_path(warehouse: Path) -> None:
    scan = FileScan([str(warehouse / "gone" / "part-0.parquet")], "parquet")
    engine = DuckDBEngine(storage_paths=[str(warehouse)])
    with pytest.raises(EngineIOError) as caught:
        engine.describe("select * from data", {"data": scan})
    assert str(warehouse) not in caught.value.message
    assert "<storage>/gone/part-0.parquet" in caught.value.message


def test_a_file_outside_a_locked_down_engine_is_a_permission_error(warehouse: Path) -> None:
    engine = DuckDBEngine(allowed_directories=[str(warehouse)])
    with pytest.raises(EnginePermissionError) as caught:
        engine.query("select * from read_csv('/etc/passwd')", {})
    assert caught.value.status == 403
    assert str(warehouse) not in caught.value.message


def test_a_locked_down_engine_hides_its_own_directories(warehouse: Path) -> None:
    engine = DuckDBEngine(allowed_directories=[str(warehouse)])
    with pytest.raises(EngineIOError) as caught:
        engine.query(f"select * from read_csv('{warehouse}/missing.csv')", {})
    assert str(warehouse) not in caught.value.message


def test_an_interrupted_query_is_engine_interrupted(warehouse: Path) -> None:
    engine = DuckDBEngine(storage_paths=[str(warehouse)])
    with engine.connect() as connection:
        timer = threading.Timer(0.2, connection.interrupt)
        timer.start()
        try:
            with pytest.raises(EngineInterrupted), engine.translated():
                connection.execute("select sum(a.range * b.range) from range(100000000) a, range(1000) b")
        finally:
            timer.cancel()


def test_errors_raised_while_a_stream_is_read_are_translated_too() -> None:
    reader = get_engine().stream(
        "select case when range = 5000 then 'x'::int else range end from range(10000)", {}, batch_rows=1000
    )
    with pytest.raises(EngineError) as caught:
        reader.read_all()
    assert "Conversion Error" in caught.value.message or "Could not convert" in caught.value.message


def test_scans_of_stored_files_are_named_as_products_not_file_lists(warehouse: Path) -> None:
    engine = DuckDBEngine(storage_paths=[str(warehouse)])
    files = engine.write_parquet("select 1 as n", {}, [Column(1, "n", "INTEGER")], str(warehouse / "t"))
    with pytest.raises(EngineError) as caught:
        engine.query(f"select nope from read_parquet([{', '.join(repr(f) for f in files)}])", {})
    assert str(warehouse) not in caught.value.message
