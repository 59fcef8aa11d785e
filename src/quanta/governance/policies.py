"""Policies as code: Rego modules with a lifecycle, evaluated in-process with rego-cpp (``regopy``).

A policy is a module ``package quanta.<name>`` whose ``deny`` set holds messages, with an OPA-style
``# METADATA`` comment block (``title``, ``stage``, ``events``) above the package line. The input
document every policy sees:

- ``product``: the product descriptor (id, domain, type, team{name, members}, outputPorts[], visibility)
- ``contracts``: output port name -> ODCS contract (schema[].properties[] with classification, tags)
- ``detections``: sensitive columns found on landing, ``[{column, tag, kind, level}]`` (optional)
- ``principal``, ``request``, ``space``: who asks, what for, where to (access and share events)
- ``maturity``: ``{level, score}`` (optional)
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from quanta.errors import Problem
from quanta.governance.rego import PolicyError, Rego, RegoFailure, position_of

Stage = Literal["draft", "grace", "enforced", "deprecated"]
Event = Literal["validate", "publish", "access", "share"]
Outcome = Literal["allow", "deny", "warn"]
TestOutcome = Literal["pass", "fail", "error"]
STAGES: tuple[Stage, ...] = get_args(Stage)
EVENTS: tuple[Event, ...] = get_args(Event)
BUILTIN_DIR = Path(__file__).parent / "builtin"

_OPA_KEYS = {"scope", "title", "description", "related_resources", "authors", "organizations", "schemas"}
_KEYS = _OPA_KEYS | {"entrypoint", "custom", "stage", "events"}
_PACKAGE = re.compile(r"^package[ \t]+(\S+)", re.MULTILINE)
_POLICY_PACKAGE = re.compile(r"quanta(\.[A-Za-z_][A-Za-z0-9_]*)+")
_DENY_RULE = re.compile(r"^(default[ \t]+)?(deny|route|approve)\b", re.MULTILINE)
_META_HINT = "start the file with '# METADATA', then '# title: ...', '# stage: enforced', '# events: [...]'"
_TEST_TIMEOUT = 300  # seconds for one child process running tests
_CRASH_HINT = (
    "rego-cpp 1.5.2 crashes on `with input as {...}` when the rule under test uses other rules: "
    "replace one key at a time (`with input.product as {...}`)"
)


@dataclass(frozen=True)
class Policy:
    """One Rego policy module and its lifecycle metadata."""

    id: str
    title: str
    stage: Stage
    events: tuple[Event, ...]
    scope: str
    source: Path | None
    rego: str

    @property
    def version(self) -> str:
        """What identifies this exact text of the policy: a digest of its source."""
        import hashlib

        return "sha256:" + hashlib.sha256(self.rego.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``id@version``: which policy, and which text of it, decided."""
        return f"{self.id}@{self.version}"

    @property
    def source_name(self) -> str:
        """The name rego-cpp reports positions against."""
        return str(self.source) if self.source else f"<{self.id}>"

    @classmethod
    def parse(cls, text: str, *, source: Path | None = None, scope: str = "global") -> Policy:
        """Read the package and the METADATA block; raise a positioned :class:`PolicyError` if malformed."""
        name = str(source) if source else "<policy>"
        package, line = _package(text, name)
        if not _POLICY_PACKAGE.fullmatch(package):
            hint = "name the package 'quanta.<policy_name>' (letters, digits, underscores)"
            raise _error(name, f"policy package {package!r} is not under 'quanta'", line, 9, hint)
        if not _DENY_RULE.search(text):
            hint = 'add: deny contains msg if { ...; msg := "what is wrong and how to fix it" }'
            message = f"policy {package} defines no 'deny' rule (nor, for access, 'route' or 'approve')"
            raise _error(name, message, line, 1, hint)
        title, stage, events = _read_metadata(text, name)
        return cls(package, title or package, stage, events, scope, source, text)


@dataclass(frozen=True)
class Decision:
    """What one policy said about one event: allow, deny, or warn (a deny in its grace period)."""

    policy: str
    outcome: Outcome
    messages: list[str]


@dataclass(frozen=True)
class PolicyDocument:
    """The rules one policy computed for one input (``error``: it could not be evaluated)."""

    policy: Policy
    rules: dict[str, Any]
    error: str | None

    def messages(self, rule: str) -> list[str]:
        return _messages(self.rules.get(rule))


@dataclass(frozen=True)
class PolicyTestResult:
    """One ``test_*`` rule of a ``*_test.rego`` file and how it went."""

    package: str
    name: str
    source: Path
    line: int
    outcome: TestOutcome
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"


class PolicySet:
    """The policies of a workspace, compiled once and evaluated for each event."""

    def __init__(self, policies: Sequence[Policy], directories: Sequence[Path] = ()) -> None:
        self.policies = list(policies)
        self.directories = list(directories)
        _check_unique(self.policies)
        self._rego = Rego()
        for policy in self.policies:
            _check_compiles(policy)
            self._rego.add(policy.source_name, policy.rego)
        # One interpreter holds one input at a time; a web server may evaluate from several threads.
        self._lock = threading.Lock()
        self._by_event: dict[Event, Rego] = {}

    @classmethod
    def load(cls, directories: Sequence[Path], *, builtin: bool = True) -> PolicySet:
        """The shipped policies plus every ``*.rego`` (except ``*_test.rego``) in the given directories.

        ``domains/<d>/policies`` holds domain-local policies; any other directory holds global ones.
        Directories that do not exist are skipped, so callers can pass the conventional locations.
        """
        dirs = ([BUILTIN_DIR] if builtin else []) + [Path(d) for d in directories]
        policies = [
            Policy.parse(path.read_text(encoding="utf-8"), source=path, scope=_scope_of(directory))
            for directory in dirs
            for path in _rego_files(directory)
            if not path.name.endswith("_test.rego")
        ]
        return cls(policies, dirs)

    def evaluate(self, event: Event, input: dict[str, Any], *, domain: str | None = None) -> list[Decision]:
        """Run every active policy for ``event``; ``domain`` defaults to ``input.product.domain``."""
        if domain is None:
            product = input.get("product")
            domain = product.get("domain") if isinstance(product, dict) else None
        active = [p for p in self.policies if _applies(p, event, domain)]
        if not active:
            return []
        with self._lock:
            self._rego.set_input(input)
            return [self._decide(policy) for policy in active]

    def documents(
        self, event: Event, input: dict[str, Any], *, domain: str | None = None
    ) -> list[PolicyDocument]:
        """Every rule of each active policy for ``event`` (its package document: ``deny``, ``route``,
        ``approve`` ...); a policy that fails to evaluate comes back with its error.

        rego-cpp compiles every module it holds on each query, so this asks once, of an interpreter
        holding only the event's policies (a few milliseconds instead of ten per policy); only when
        that fails is each policy asked alone, to pin the error on the one that failed.
        """
        active = [p for p in self.policies if _applies(p, event, domain)]
        if not active:
            return []
        with self._lock:
            rego = self._event_rego(event)
            rego.set_input(input)
            try:
                values = rego.query("[" + ", ".join(f"data.{p.id}" for p in active) + "]")
                return [
                    PolicyDocument(p, v if isinstance(v, dict) else {}, None)
                    for p, v in zip(active, values or [{}] * len(active), strict=True)
                ]
            except RegoFailure:
                pass
            found = []
            for policy in active:
                try:
                    value = rego.query(f"data.{policy.id}")
                except RegoFailure as exc:
                    found.append(PolicyDocument(policy, {}, exc.message))
                    continue
                found.append(PolicyDocument(policy, value if isinstance(value, dict) else {}, None))
            return found

    def _event_rego(self, event: Event) -> Rego:
        """An interpreter holding only the policies of ``event`` (created on first use)."""
        if event not in self._by_event:
            rego = Rego()
            for policy in self.policies:
                if event in policy.events:
                    rego.add(policy.source_name, policy.rego)
            self._by_event[event] = rego
        return self._by_event[event]

    def _decide(self, policy: Policy) -> Decision:
        try:
            messages = _messages(self._rego.query(f"data.{policy.id}.deny"))
        except RegoFailure as exc:
            # Fail closed: a policy that cannot be evaluated must not let the action through.
            return Decision(policy.id, "deny", [f"policy {policy.id} could not be evaluated: {exc}"])
        if not messages:
            return Decision(policy.id, "allow", [])
        return Decision(policy.id, "warn" if policy.stage == "grace" else "deny", messages)

    def test(self, directories: Sequence[Path] | None = None) -> list[PolicyTestResult]:
        """Run the ``test_*`` rules of each ``*_test.rego`` in ``directories`` (default: the set's own)."""
        dirs = self.directories if directories is None else [Path(d) for d in directories]
        files = [path for d in dirs for path in _rego_files(d) if path.name.endswith("_test.rego")]
        return _run_tests(self.policies, files)

    def explain(self) -> list[dict[str, Any]]:
        """One row per policy for ``quanta policy ls``."""
        return [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "stage": p.stage,
                "events": list(p.events),
                "scope": p.scope,
                "source": str(p.source) if p.source else None,
            }
            for p in self.policies
        ]


def _read_metadata(text: str, name: str) -> tuple[str | None, Stage, tuple[Event, ...]]:
    """Title, stage and events from the ``# METADATA`` block above the package line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "# METADATA"), None)
    code = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), len(lines)
    )
    if start is None or start > code:
        raise _error(
            name, "the policy has no '# METADATA' comment block before its package", 1, 1, _META_HINT
        )
    block: list[tuple[int, int, str]] = []  # (line, column where the YAML starts, YAML text)
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if not line.lstrip().startswith("#"):
            break
        body = line.lstrip()[1:].removeprefix(" ")
        block.append((number, len(line) - len(body) + 1, body))
    try:
        data = yaml.safe_load("\n".join(body for _, _, body in block))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        row = block[min(mark.line, len(block) - 1)] if mark and block else (start + 1, 1, "")
        column = row[1] + (mark.column if mark else 0)
        message = f"invalid METADATA YAML: {exc.problem or exc.context}"
        raise _error(name, message, row[0], column, "write one '# key: value' per line") from None
    if not isinstance(data, dict):
        raise _error(name, "the METADATA block is not 'key: value' lines", start + 1, 1, _META_HINT)

    return _metadata_fields(data, name, _Block(block, start + 1))


@dataclass(frozen=True)
class _Block:
    """The METADATA comment lines, to point at a key or its value."""

    rows: list[tuple[int, int, str]]  # (line, column where the YAML starts, YAML text)
    line: int  # of '# METADATA'

    def key(self, key: str) -> tuple[int, int]:
        found = [(number, column) for number, column, body in self.rows if body.startswith(f"{key}:")]
        return found[0] if found else (self.line, 1)

    def value(self, key: str) -> tuple[int, int]:
        line, column = self.key(key)
        return (line, column + len(key) + 2) if line != self.line else (line, column)


def _metadata_fields(
    data: dict[Any, Any], name: str, where: _Block
) -> tuple[str | None, Stage, tuple[Event, ...]]:
    for key in data:
        if key not in _KEYS:
            hint = f"use {', '.join(sorted(_KEYS))}"
            raise _error(name, f"unknown METADATA key {key!r}", *where.key(str(key)), hint)
    stage = data.get("stage")
    if stage not in STAGES:
        problem = "the METADATA has no 'stage'" if stage is None else f"unknown stage {stage!r}"
        raise _error(name, problem, *where.value("stage"), f"set stage to one of {', '.join(STAGES)}")
    events = [data["events"]] if isinstance(data.get("events"), str) else data.get("events")
    if not isinstance(events, list) or not events:
        hint = f"set events to a list of {', '.join(EVENTS)}, e.g. [publish]"
        raise _error(name, "the METADATA has no 'events' list", *where.value("events"), hint)
    for event in events:
        if event not in EVENTS:
            raise _error(name, f"unknown event {event!r}", *where.value("events"), f"use {', '.join(EVENTS)}")
    title = data.get("title")
    return (str(title) if title is not None else None), stage, tuple(events)


def _package(text: str, name: str) -> tuple[str, int]:
    match = _PACKAGE.search(text)
    if match is None:
        hint = "add 'package quanta.<policy_name>' after the METADATA block"
        raise _error(name, "the module has no package declaration", 1, 1, hint)
    return match.group(1), text.count("\n", 0, match.start()) + 1


def _error(name: str, message: str, line: int, column: int, hint: str) -> PolicyError:
    return PolicyError([Problem(message, source=name, line=line, column=column, hint=hint)])


def _check_unique(policies: Iterable[Policy]) -> None:
    seen: dict[str, Policy] = {}
    for policy in policies:
        if policy.id in seen:
            _, line = _package(policy.rego, policy.source_name)
            message = f"package {policy.id} is already defined in {seen[policy.id].source_name}"
            raise _error(policy.source_name, message, line, 9, "give each policy its own package name")
        seen[policy.id] = policy


def _check_compiles(policy: Policy) -> None:
    """Compile one policy alone, so an error is pinned on its file rather than on the whole set."""
    rego = Rego()
    rego.add(policy.source_name, policy.rego)
    rego.set_input({})
    try:
        rego.query(f"data.{policy.id}.deny")
    except RegoFailure as exc:
        if exc.at_runtime:  # depends on the input: reported per evaluation instead
            return
        line, column = position_of(policy.rego, exc.message)
        hint = "fix the Rego module; `opa check` reports the same problem"
        problem = Problem(f"Rego error: {exc.message}", policy.source_name, line, column, hint=hint)
        raise PolicyError([problem]) from None


def _scope_of(directory: Path) -> str:
    if directory.name == "policies" and directory.parent.parent.name == "domains":
        return directory.parent.name
    return "global"


def _rego_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.rego")) if directory.is_dir() else []


def _applies(policy: Policy, event: Event, domain: str | None) -> bool:
    # draft and deprecated policies are listed but never evaluated
    live = policy.stage in ("grace", "enforced")
    return live and event in policy.events and policy.scope in ("global", domain)


def _messages(value: Any) -> list[str]:
    """Normalise a ``deny`` value: a set (JSON array) of messages, a v0 partial object, or a boolean."""
    if value is None or value is False:
        return []
    if value is True:
        return ["denied"]
    items = list(value) if isinstance(value, dict | list) else [value]
    return [item if isinstance(item, str) else json.dumps(item, sort_keys=True) for item in items]


def _run_tests(policies: Sequence[Policy], files: Sequence[Path]) -> list[PolicyTestResult]:
    """Run each test file in a child process, because some Rego makes rego-cpp 1.5.2 crash.

    A crash while compiling fails every test of that file; a crash in one test fails that test only.
    """
    check = Rego()
    results: list[PolicyTestResult] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        check.add(str(path), text)  # syntax errors are raised here, positioned, before anything runs
        package, _ = _package(text, str(path))
        rules = {m[1]: text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"^(test_\w+)", text, re.M)}
        modules = [(p.source_name, p.rego) for p in policies] + [(str(path), text)]
        outcomes: list[tuple[TestOutcome, str]] = []
        while len(outcomes) < len(rules):
            outcomes += _run_test_child(
                modules, [f"data.{package}.{rule}" for rule in list(rules)[len(outcomes) :]]
            )
        results += [
            PolicyTestResult(package, rule, path, line, outcome, message)
            for (rule, line), (outcome, message) in zip(rules.items(), outcomes, strict=True)
        ]
    return results


def _run_test_child(modules: list[tuple[str, str]], queries: list[str]) -> list[tuple[TestOutcome, str]]:
    """Outcomes of the queries the child finished, plus one error for the query it died on, if any."""
    request = json.dumps({"modules": modules, "queries": queries})
    command = [sys.executable, "-m", "quanta.governance.policies"]
    try:
        done = subprocess.run(
            command, input=request, capture_output=True, text=True, timeout=_TEST_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return [("error", f"the tests did not finish within {_TEST_TIMEOUT}s")] * len(queries)
    lines = done.stdout.splitlines()
    outcomes: list[tuple[TestOutcome, str]] = [
        tuple(json.loads(line.removeprefix("RESULT "))) for line in lines if line.startswith("RESULT ")
    ]
    if done.returncode > 0:  # a Python error in the child, not a crash in rego-cpp
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        failed: tuple[TestOutcome, str] = ("error", f"the test runner failed: {last}")
        return outcomes + [failed] * (len(queries) - len(outcomes))
    crashed = f"the Rego engine (rego-cpp) crashed (exit code {done.returncode})"
    if "COMPILED" not in lines:
        return [("error", f"{crashed} compiling this file; {_CRASH_HINT}")] * len(queries)
    if len(outcomes) < len(queries):
        outcomes.append(("error", f"{crashed} running this test"))
    return outcomes


def _test_child() -> None:
    """Child side of :func:`_run_tests`: one JSON result line per query, flushed as it completes."""
    request = json.loads(sys.stdin.read())
    rego = Rego()
    for name, text in request["modules"]:
        rego.add(name, text)
    rego.set_input({})
    # rego-cpp compiles every module on the first query; a compile error fails each test below instead
    with contextlib.suppress(RegoFailure):
        rego.query("x := true")
    print("COMPILED", flush=True)
    for query in request["queries"]:
        try:
            passed = rego.query(query) is True
            outcome = ["pass", ""] if passed else ["fail", "the test rule is false or undefined"]
        except RegoFailure as exc:
            outcome = ["error", exc.message]
        print("RESULT " + json.dumps(outcome), flush=True)


if __name__ == "__main__":
    _test_child()
