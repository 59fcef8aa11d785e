"""rego-cpp (``regopy``) behind a small interface: modules whose syntax errors come back positioned
(``PolicyError``), queries whose errors come back as ``RegoFailure`` with rego-cpp's error code."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

# librego_shared exports C++ template instantiations (GNU-unique symbols) that would also bind inside
# DuckDB if rego-cpp were loaded first, corrupting DuckDB's heap ("munmap_chunk(): invalid pointer").
# Loading DuckDB and Arrow first keeps their own; tests/test_policies.py checks the order holds.
import duckdb  # noqa: F401
import pyarrow  # noqa: F401
import regopy.rego_shared as capi  # type: ignore[import-untyped]
from regopy import Interpreter, LogLevel, NodeKind, RegoError

from quanta.errors import Problem, QuantaError


class PolicyError(QuantaError):
    """A policy or policy test file is malformed: bad Rego, missing METADATA, a duplicate package."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.location}: {first.message}{more}", hint=first.hint)
        self.problems = problems


class RegoFailure(Exception):
    """rego-cpp could not compile or evaluate a query; ``code`` is its error code (``eval_*`` at runtime)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def at_runtime(self) -> bool:
        return self.code.startswith("eval_")


class Rego:
    """One rego-cpp interpreter: module errors come back positioned, query errors as :class:`RegoFailure`."""

    def __init__(self) -> None:
        self._interpreter = Interpreter()
        # rego-cpp prints parse errors to stdout by default; they are raised as PolicyError instead.
        self._interpreter.log_level = LogLevel.NONE
        # A builtin given bad arguments (lower(null)) must fail the policy, not quietly make a rule undefined.
        self._interpreter.strict_built_in_errors = True

    def add(self, name: str, text: str) -> None:
        try:
            self._interpreter.add_module(name, text)
        except RegoError as exc:
            raise PolicyError(module_problems(str(exc), name, text)) from None

    def set_input(self, value: Any) -> None:
        try:
            term = json.dumps(value, default=str, allow_nan=False)
        except ValueError as exc:
            raise PolicyError([Problem(f"the policy input is not valid JSON: {exc}")]) from None
        self._interpreter.set_input_term(term)

    def query(self, query: str) -> Any:
        """The value of ``query``, or None when undefined."""
        # regopy's Output assumes every answer is JSON, but compile errors come back as a term: read it raw.
        try:
            output = capi.rego_query(self._interpreter._impl, query)
        except RegoError as exc:
            raise RegoFailure(str(exc).strip() or "the query failed", "rego_query_error") from None
        try:
            if not capi.rego_output_ok(output):
                raise _failure_from_node(capi.rego_output_node(output))
            text = capi.rego_output_string(output)
        finally:
            capi.rego_free_output(output)
        if text == "undefined":
            return None
        if text.startswith("("):
            messages, codes = _length_prefixed(text, "errormsg"), _length_prefixed(text, "rego-errorcode")
            raise RegoFailure("; ".join(messages) or text, codes[0] if codes else "rego_compile_error")
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise RegoFailure(
                f"the Rego engine returned malformed output: {text[:200]}", "eval_output"
            ) from None
        result = answer[0] if isinstance(answer, list) and answer else answer
        expressions = result.get("expressions", []) if isinstance(result, dict) else []
        return expressions[0] if expressions else None


def _failure_from_node(errors: Any) -> RegoFailure:
    messages: list[str] = []
    codes: list[str] = []
    for index in range(capi.rego_node_size(errors)):
        error = capi.rego_node_get(errors, index)
        for part in (capi.rego_node_get(error, i) for i in range(capi.rego_node_size(error))):
            kind = capi.rego_node_type(part)
            if kind == NodeKind.ErrorMessage:
                messages.append(capi.rego_node_value(part))
            elif kind == NodeKind.ErrorCode:
                codes.append(capi.rego_node_value(part))
    unique = list(dict.fromkeys(messages))
    return RegoFailure("; ".join(unique) or "evaluation failed", codes[0] if codes else "eval_error")


def _length_prefixed(term: str, node: str) -> list[str]:
    """Texts of ``(node <bytes>:<text>)`` in a rego-cpp term dump; the length is in UTF-8 bytes."""
    raw = term.encode()
    found = []
    for match in re.finditer(rb"\(" + re.escape(node.encode()) + rb" (\d+):", raw):
        found.append(raw[match.end() : match.end() + int(match.group(1))].decode(errors="replace"))
    return found


def module_problems(error: str, name: str, text: str) -> list[Problem]:
    """Turn rego-cpp's error term into positioned problems; positions are UTF-8 byte offsets."""
    raw, source = error.encode(), text.encode()
    location = re.compile(rb"\d+:" + re.escape(name.encode()) + rb"\|(\d+)\|(\d+)")
    starts = [m.start() for m in re.finditer(rb"\(error[\s)]", raw)] + [len(raw)]
    problems = []
    for start, end in itertools.pairwise(starts):
        chunk = raw[start:end].decode(errors="replace")
        message = (_length_prefixed(chunk, "errormsg") or ["invalid Rego"])[0]
        where = location.search(raw, start, end)
        line = column = None
        if where:
            offset = int(where.group(1))
            line = source.count(b"\n", 0, offset) + 1
            column = len(source[source.rfind(b"\n", 0, offset) + 1 : offset].decode(errors="replace")) + 1
        problems.append(
            Problem(
                f"Rego syntax error: {message}",
                source=name,
                line=line,
                column=column,
                hint="fix the Rego at this position (see https://www.openpolicyagent.org/docs/policy-language)",
            )
        )
    return problems or [Problem(f"Rego error: {error.strip()}", source=name)]


def position_of(text: str, message: str) -> tuple[int | None, int | None]:
    """Best guess at where a compile error is: the name it ends with ("Function not found: foo").

    rego-cpp only exposes positions for parse errors; errors raised while compiling a query have none.
    """
    match = re.search(r":\s*([A-Za-z_][\w.]*)$", message)
    found = re.search(rf"\b{re.escape(match.group(1))}\b", text) if match else None
    if found is None:
        return None, None
    line_start = text.rfind("\n", 0, found.start()) + 1
    return text.count("\n", 0, found.start()) + 1, found.start() - line_start + 1
