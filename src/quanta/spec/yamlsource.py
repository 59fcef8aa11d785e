"""YAML loading that remembers where every node came from.

Values are resolved with the YAML 1.2 core schema rather than PyYAML's YAML 1.1 defaults: ``no`` stays
a string (Norway's country code), dates stay strings (the standards' JSON Schemas expect strings), and
duplicate keys are an error instead of a silent overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from quanta.errors import Problem, SpecError

JsonPath = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Core12Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 core schema implicit resolvers."""


_Core12Loader.yaml_implicit_resolvers = {}
_RESOLVERS: list[tuple[str, str, str]] = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN\0"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
]
for _tag, _pattern, _first in _RESOLVERS:
    _Core12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_Core12Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


_Core12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass
class Document:
    """A parsed YAML (or JSON) document plus the 1-based line/column of every node by its JSON path."""

    data: Any
    source: str
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    text: str = ""
    values: dict[JsonPath, tuple[int, int, str | None]] = field(default_factory=dict)
    """Where each scalar value starts (line, column, style: None plain, '|' or '>' block, quote char)."""

    def text_position(self, path: JsonPath, line: int, column: int) -> tuple[int | None, int | None]:
        """File position of (line, column) counted inside the scalar string at ``path`` (both 1-based)."""
        start = self.values.get(path)
        if start is None:
            return self.locate(path)
        first_line, first_col, style = start
        if style in ("|", ">"):
            content = self.text.splitlines()[first_line] if first_line < len(self.text.splitlines()) else ""
            indent = len(content) - len(content.lstrip(" "))
            return first_line + line, indent + column
        offset = 1 if style in ("'", '"') else 0
        return first_line + line - 1, (first_col + offset + column - 1) if line == 1 else column

    def locate(self, path: JsonPath) -> tuple[int | None, int | None]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None, None
            probe = probe[:-1]

    def problem(self, path: JsonPath, message: str, hint: str | None = None, **kw: Any) -> Problem:
        """A :class:`Problem` positioned at ``path`` in this document."""
        line, column = self.locate(path)
        return Problem(
            message, source=self.source, line=line, column=column, path=format_path(path), hint=hint, **kw
        )


def format_path(path: JsonPath) -> str:
    """``("schema", 0, "properties", 2, "name")`` ► ``schema[0].properties[2].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, path: JsonPath, doc: Document, problems: list[Problem]) -> None:
    doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.ScalarNode):
        doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1, node.style)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(
                        f"duplicate key '{key}' (first defined on line {seen[key]})",
                        source=doc.source,
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                        path=format_path((*path, key)),
                        hint="remove one of the two entries; YAML would silently keep only the last",
                    )
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            # Point at the key, which is where a reader looks for the field.
            doc.positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*path, key), doc, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc, problems)


def parse_yaml(text: str, source: str = "<input>") -> Document:
    """Parse one YAML document, raising :class:`SpecError` with a position on any syntax problem."""
    doc = Document(data=None, source=source, text=text)
    try:
        loader = _Core12Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_syntax_problem(exc, source)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(f"invalid YAML: {exc}", source=source)]) from None
    except (ValueError, TypeError) as exc:  # e.g. unhashable mapping keys
        raise SpecError([Problem(f"invalid YAML value: {exc}", source=source)]) from None
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), doc, problems)
    if problems:
        raise SpecError(problems)
    doc.data = data
    return doc


def _syntax_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    problem, context = str(exc.problem or ""), str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    message, hint = (
        f"invalid YAML: {problem or context}",
        "check the indentation and quoting around this position",
    )
    if "quoted scalar" in context and exc.context_mark is not None:
        # The parser notices at the end of the file; the reader needs the quote that was opened.
        mark, message, hint = (
            exc.context_mark,
            "invalid YAML: this quoted string is never closed",
            "add the closing quote",
        )
    elif "tab" in problem:
        hint = "indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "quote values that contain ': ' or fix the indentation of this line"
    elif "single document" in context or "another document" in problem:
        message = "invalid YAML: more than one document in this file"
        hint = "keep one document per file (remove the extra '---')"
    return Problem(
        message,
        source=source,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
        hint=hint,
    )


def load_file(path: Path) -> Document:
    """Read and parse a YAML or JSON file (JSON is valid YAML 1.2)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([Problem("file not found", source=str(path), hint="check the path")]) from None
    except IsADirectoryError:
        raise SpecError([Problem("is a directory, expected a YAML file", source=str(path))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        problem = Problem(
            f"not UTF-8 text ({exc.reason})", str(path), line, column, hint="save the file as UTF-8"
        )
        raise SpecError([problem]) from None
    return parse_yaml(text, str(path))


def dump_yaml(data: Any) -> str:
    """Serialise plain data as block-style YAML, keeping key order."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000
    )


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes strings YAML 1.1 readers would misread (``no``, ``09:00``, dates)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent sequences under their key, as the ODCS examples do


_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|\d[\d:_.\-+ tTzZ]*|[-+]?\.?\d.*)$"
)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _AMBIGUOUS.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)
