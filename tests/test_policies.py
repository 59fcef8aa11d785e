"""Policies as code: the shipped Rego policies, lifecycle stages, domain scope, errors, Rego unit tests."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quanta.governance.policies import Decision, Event, Outcome, PolicyError, PolicySet

BUILTIN_IDS = {
    "quanta.owner_required",
    "quanta.output_port_contract",
    "quanta.pii_classified",
    "quanta.source_aligned_not_public",
    "quanta.minimum_maturity",
    "quanta.no_restricted_in_partner_space",
    "quanta.no_restricted_egress",
    "quanta.auto_approve_internal",
    "quanta.no_auto_approve_sensitive_for_services",
}

GOOD: dict[str, Any] = {
    "product": {
        "id": "sales.orders",
        "domain": "sales",
        "type": "source-aligned",
        "visibility": "internal",
        "team": {"name": "sales-data", "members": ["ana"]},
        "outputPorts": [{"name": "orders", "contract": "sales.orders.v1"}],
    },
    "contracts": {
        "orders": {
            "schema": [
                {
                    "name": "orders",
                    "properties": [
                        {"name": "order_id"},
                        {"name": "email", "tags": ["pii"]},
                        {"name": "ssn", "classification": "restricted"},
                    ],
                }
            ]
        }
    },
    "detections": [
        {"column": "email", "tag": "pii", "kind": "email", "level": "confidential"},
        {"column": "orders.ssn", "tag": "pii", "kind": "ssn", "level": "restricted"},
    ],
    "maturity": {"level": 3, "score": 0.8},
    "principal": {"id": "ana", "roles": ["consumer"]},
    "request": {"purpose": "analytics"},
    "space": {"kind": "internal", "name": "main"},
}


def _with(**changes: Any) -> dict[str, Any]:
    """GOOD with dotted paths replaced, e.g. ``_with(**{"product.visibility": "public"})``."""
    document = copy.deepcopy(GOOD)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = document
        for key in parents:
            target = target[key]
        target[leaf] = value
    return document


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _policy(name: str, *, stage: str = "enforced", events: str = "[publish]", body: str = "") -> str:
    rule = body or f'deny contains "{name} says no" if true'
    header = f"# METADATA\n# title: {name}\n# stage: {stage}\n# events: {events}\n"
    return f"{header}package quanta.{name}\n\nimport rego.v1\n\n{rule}\n"


def _decision(decisions: list[Decision], policy: str) -> Decision:
    found = [d for d in decisions if d.policy == policy]
    assert len(found) == 1, f"{policy} evaluated {len(found)} times: {decisions}"
    return found[0]


@pytest.fixture(scope="module")
def builtin() -> PolicySet:
    return PolicySet.load([])


# --- the shipped policies -------------------------------------------------------------------------

EVENT_POLICIES: list[tuple[Event, set[str]]] = [
    (
        "validate",
        {"quanta.owner_required", "quanta.output_port_contract", "quanta.source_aligned_not_public"},
    ),
    (
        "publish",
        {
            "quanta.owner_required",
            "quanta.output_port_contract",
            "quanta.pii_classified",
            "quanta.source_aligned_not_public",
            "quanta.minimum_maturity",
        },
    ),
    (
        "access",
        {
            "quanta.no_restricted_egress",
            "quanta.auto_approve_internal",
            "quanta.no_auto_approve_sensitive_for_services",
        },
    ),
    ("share", {"quanta.no_restricted_in_partner_space"}),
]


@pytest.mark.parametrize(("event", "expected"), EVENT_POLICIES)
def test_a_good_input_is_allowed_by_every_shipped_policy(
    builtin: PolicySet, event: Event, expected: set[str]
) -> None:
    decisions = builtin.evaluate(event, GOOD)
    assert {d.policy for d in decisions} == expected
    assert [d for d in decisions if d.outcome != "allow"] == []


RESTRICTED_ONLY = {
    "orders": {
        "schema": [{"name": "orders", "properties": [{"name": "ssn", "classification": "restricted"}]}]
    }
}
PII_TAG_ONLY = {
    "orders": {"schema": [{"name": "orders", "properties": [{"name": "email", "tags": ["PII"]}]}]}
}

# (policy, event, input, expected outcome, fragment every message must contain)
CASES: list[tuple[str, Event, dict[str, Any], Outcome, str]] = [
    (
        "quanta.owner_required",
        "validate",
        _with(**{"product.team": {"members": []}}),
        "deny",
        "team.name",
    ),
    (
        "quanta.owner_required",
        "publish",
        _with(**{"product.team.name": "  "}),
        "deny",
        "sales.orders has no owner",
    ),
    (
        "quanta.output_port_contract",
        "validate",
        _with(**{"product.outputPorts": [{"name": "raw"}]}),
        "deny",
        "output port 'raw' has no data contract",
    ),
    (
        "quanta.output_port_contract",
        "publish",
        _with(**{"product.outputPorts": [{"name": "x", "contract": ""}]}),
        "deny",
        "'x'",
    ),
    (
        "quanta.output_port_contract",
        "publish",
        _with(**{"product.outputPorts": [{"name": "x", "contract": {"id": "c"}}]}),
        "allow",
        "",
    ),
    (
        "quanta.pii_classified",
        "publish",
        _with(detections=[{"column": "phone", "tag": "pii"}]),
        "deny",
        "phone (pii)",
    ),
    (
        "quanta.pii_classified",
        "publish",
        _with(detections=[{"column": "order_id", "tag": "financial"}]),
        "deny",
        "set classification: confidential or restricted",
    ),
    (
        "quanta.pii_classified",
        "publish",
        _with(detections=[{"column": "orders.email", "tag": "pii"}]),
        "allow",
        "",
    ),
    ("quanta.pii_classified", "publish", _with(detections=[]), "allow", ""),
    (
        "quanta.source_aligned_not_public",
        "validate",
        _with(**{"product.visibility": "public"}),
        "deny",
        "visibility to domain or organization",
    ),
    (
        "quanta.source_aligned_not_public",
        "publish",
        _with(**{"product.visibility": "public", "product.type": "consumer-aligned"}),
        "allow",
        "",
    ),
    (
        "quanta.minimum_maturity",
        "publish",
        _with(maturity={"level": 1}),
        "warn",
        "maturity level 1 is below the minimum of 2",
    ),
    ("quanta.minimum_maturity", "publish", _with(maturity={"score": 0.1}), "allow", ""),
    (
        "quanta.no_restricted_in_partner_space",
        "share",
        _with(space={"kind": "partner", "name": "acme"}),
        "deny",
        "may not be shared into partner space acme",
    ),
    (
        "quanta.no_restricted_in_partner_space",
        "share",
        _with(space={"kind": "partner"}, contracts=PII_TAG_ONLY),
        "deny",
        "orders.email",
    ),
    (
        "quanta.no_restricted_in_partner_space",
        "share",
        _with(space={"kind": "partner"}, contracts={}),
        "allow",
        "",
    ),
    (
        "quanta.no_restricted_egress",
        "access",
        _with(request={"purpose": "export"}),
        "deny",
        "exporting restricted data is not allowed (orders.ssn)",
    ),
    (
        "quanta.no_restricted_egress",
        "access",
        _with(request={"egress": True}, contracts=RESTRICTED_ONLY),
        "deny",
        "orders.ssn",
    ),
    ("quanta.no_restricted_egress", "access", _with(request={"egress": True, "port": "other"}), "allow", ""),
]


@pytest.mark.parametrize(("policy", "event", "document", "outcome", "fragment"), CASES)
def test_each_shipped_policy_decides_with_a_helpful_message(
    builtin: PolicySet, policy: str, event: Event, document: dict[str, Any], outcome: Outcome, fragment: str
) -> None:
    decision = _decision(builtin.evaluate(event, document), policy)
    assert decision.outcome == outcome, decision
    if outcome == "allow":
        assert decision.messages == []
    else:
        assert decision.messages
        assert all(fragment in message for message in decision.messages), decision.messages


def test_evaluating_every_shipped_policy_many_times_is_stable(builtin: PolicySet) -> None:
    document = _with(**{"product.visibility": "public"}, maturity={"level": 0}, request={"purpose": "export"})
    events: list[Event] = ["validate", "publish", "access", "share"]
    first = [builtin.evaluate(event, document) for event in events]
    for _ in range(25):
        assert [builtin.evaluate(event, document) for event in events] == first
    assert {d.policy for run in first for d in run} == BUILTIN_IDS


def test_explain_lists_every_policy_with_its_lifecycle(builtin: PolicySet) -> None:
    rows = {row["id"]: row for row in builtin.explain()}
    assert set(rows) == BUILTIN_IDS
    maturity = rows["quanta.minimum_maturity"]
    assert (maturity["stage"], maturity["events"], maturity["scope"]) == ("grace", ["publish"], "global")
    assert maturity["source"].endswith("minimum_maturity.rego")
    assert maturity["title"] == "Published products reach maturity level 2"


# --- lifecycle and scope ------------------------------------------------------------------------


def test_lifecycle_stages_decide_what_is_evaluated_and_how(tmp_path: Path) -> None:
    for stage in ("draft", "grace", "enforced", "deprecated"):
        _write(tmp_path / "policies" / f"{stage}.rego", _policy(f"stage_{stage}", stage=stage))
    policies = PolicySet.load([tmp_path / "policies"], builtin=False)
    decisions = {d.policy: d for d in policies.evaluate("publish", GOOD)}
    assert set(decisions) == {"quanta.stage_grace", "quanta.stage_enforced"}
    assert decisions["quanta.stage_grace"].outcome == "warn"
    assert decisions["quanta.stage_grace"].messages == ["stage_grace says no"]
    assert decisions["quanta.stage_enforced"].outcome == "deny"
    listed = {row["id"]: row["stage"] for row in policies.explain()}
    assert listed["quanta.stage_deprecated"] == "deprecated"
    assert listed["quanta.stage_draft"] == "draft"


def test_a_policy_runs_only_for_its_events(tmp_path: Path) -> None:
    _write(tmp_path / "p" / "share_only.rego", _policy("share_only", events="[share]"))
    policies = PolicySet.load([tmp_path / "p"], builtin=False)
    assert policies.evaluate("publish", GOOD) == []
    assert [d.outcome for d in policies.evaluate("share", GOOD)] == ["deny"]


@pytest.mark.parametrize(
    ("document", "domain", "applies"),
    [
        (GOOD, None, True),  # product.domain is sales
        (_with(**{"product.domain": "marketing"}), None, False),
        (_with(**{"product.domain": "marketing"}), "sales", True),
        (GOOD, "marketing", False),
    ],
)
def test_a_domain_local_policy_applies_only_to_its_domain(
    tmp_path: Path, document: dict[str, Any], domain: str | None, applies: bool
) -> None:
    local = tmp_path / "domains" / "sales" / "policies"
    _write(local / "sales_only.rego", _policy("sales_only"))
    _write(tmp_path / "policies" / "everyone.rego", _policy("everyone"))
    policies = PolicySet.load([tmp_path / "policies", local], builtin=False)
    scopes = {row["id"]: row["scope"] for row in policies.explain()}
    assert scopes == {"quanta.everyone": "global", "quanta.sales_only": "sales"}
    evaluated = {d.policy for d in policies.evaluate("publish", document, domain=domain)}
    assert ("quanta.sales_only" in evaluated) is applies
    assert "quanta.everyone" in evaluated


@pytest.mark.parametrize("stage", ["enforced", "grace"])
def test_a_policy_that_fails_at_evaluation_denies(tmp_path: Path, stage: str) -> None:
    conflict = 'v := 1 if input.flag\nv := 2 if input.flag\n\ndeny contains "never reached" if v\n'
    _write(tmp_path / "p" / "conflict.rego", _policy("conflict", stage=stage, body=conflict))
    policies = PolicySet.load([tmp_path / "p"], builtin=False)
    [decision] = policies.evaluate("publish", {"flag": True})
    assert decision.outcome == "deny"
    assert "could not be evaluated" in decision.messages[0]
    assert "multiple outputs" in decision.messages[0]
    assert [d.outcome for d in policies.evaluate("publish", {"flag": False})] == ["allow"]


# --- positioned errors --------------------------------------------------------------------------

HEADER = (
    "# METADATA\n# title: t\n# stage: enforced\n# events: [publish]\n"
    "package quanta.broken\n\nimport rego.v1\n\n"
)
DENY = 'deny contains "x" if true\n'

# (file text, line, column, fragment of the message)
BROKEN: list[tuple[str, int, int, str]] = [
    (
        HEADER + 'deny contains msg if {\n\tx := [1, 2\n\tmsg := "x"\n}\n',
        10,
        7,
        "Rego syntax error: this is unclosed",
    ),
    (HEADER + 'deny contains "x" if { 1 +* 2 }\n', 9, 26, "Rego syntax error: Invalid arithmetic operator"),
    (
        HEADER + "deny contains msg if {\n\tmsg := no_such_function(1)\n}\n",
        10,
        9,
        "Function not found: no_such_function",
    ),
    (
        'package quanta.broken\nimport rego.v1\ndeny contains "x" if true\n',
        1,
        1,
        "no '# METADATA' comment block",
    ),
    (
        '# just a comment\npackage quanta.broken\n# METADATA\n# stage: enforced\ndeny contains "x" if true\n',
        1,
        1,
        "no '# METADATA'",
    ),
    (HEADER.replace("stage: enforced", "stage: enforcd") + DENY, 3, 10, "unknown stage 'enforcd'"),
    (HEADER.replace("# stage: enforced\n", "") + DENY, 1, 1, "the METADATA has no 'stage'"),
    (HEADER.replace("[publish]", "[publish, delete]") + DENY, 4, 11, "unknown event 'delete'"),
    (HEADER.replace("# title: t", "# titel: t") + DENY, 2, 3, "unknown METADATA key 'titel'"),
    (HEADER.replace("stage: enforced", "stage: [enforced") + DENY, 4, 9, "invalid METADATA YAML"),
    (HEADER.replace("quanta.broken", "acme.broken") + DENY, 5, 9, "is not under 'quanta'"),
    (HEADER + "allow if true\n", 5, 1, "defines no 'deny' rule"),
]


@pytest.mark.parametrize(("text", "line", "column", "fragment"), BROKEN)
def test_a_broken_policy_file_raises_a_positioned_policy_error(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    path = _write(tmp_path / "policies" / "broken.rego", text)
    with pytest.raises(PolicyError) as caught:
        PolicySet.load([tmp_path / "policies"], builtin=False)
    error = caught.value
    assert error.message.startswith(f"{path}:{line}:{column}: "), error.message
    assert fragment in error.message
    assert error.hint
    assert (error.problems[0].line, error.problems[0].column) == (line, column)


def test_two_policies_with_one_package_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "one.rego", _policy("same"))
    second = _write(tmp_path / "b" / "two.rego", _policy("same"))
    with pytest.raises(PolicyError, match="already defined in") as caught:
        PolicySet.load([tmp_path / "a", tmp_path / "b"], builtin=False)
    assert caught.value.message.startswith(f"{second}:5:9: ")


def test_input_that_is_not_json_is_a_policy_error(builtin: PolicySet) -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        builtin.evaluate("publish", _with(maturity={"level": float("nan")}))


# --- Rego unit tests ----------------------------------------------------------------------------


def test_the_shipped_rego_unit_tests_pass(builtin: PolicySet) -> None:
    results = builtin.test()
    assert len(results) == 10
    assert [(r.name, r.message) for r in results if not r.passed] == []


def test_policy_tests_report_pass_and_fail_per_test_rule(tmp_path: Path) -> None:
    _write(
        tmp_path / "p" / "owner.rego", _policy("owner", body='deny contains "no owner" if not input.owner')
    )
    _write(
        tmp_path / "p" / "owner_test.rego",
        """
        package quanta.owner_test

        import rego.v1

        test_owner_allows if {
            count(data.quanta.owner.deny) == 0 with input.owner as "ana"
        }

        test_this_one_is_wrong if {
            count(data.quanta.owner.deny) == 0 with input.owner as false
        }
        """,
    )
    policies = PolicySet.load([tmp_path / "p"], builtin=False)
    results = policies.test()
    assert [(r.name, r.outcome, r.line) for r in results] == [
        ("test_owner_allows", "pass", 5),
        ("test_this_one_is_wrong", "fail", 9),
    ]
    assert results[0].package == "quanta.owner_test"
    assert results[1].source == tmp_path / "p" / "owner_test.rego"


def test_a_crash_in_rego_cpp_fails_that_file_not_the_run(tmp_path: Path) -> None:
    # rego-cpp 1.5.2 segfaults compiling `with input as {...}` over a rule that uses a helper rule.
    helper = 'deny contains "no owner" if _unowned\n\n_unowned if not input.owner\n'
    _write(tmp_path / "p" / "owner.rego", _policy("owner", body=helper))
    _write(
        tmp_path / "p" / "a_crash_test.rego",
        """
        package quanta.crash_test

        import rego.v1

        test_whole_input if {
            count(data.quanta.owner.deny) == 0 with input as {"owner": "ana"}
        }
        """,
    )
    _write(
        tmp_path / "p" / "b_fine_test.rego",
        """
        package quanta.fine_test

        import rego.v1

        test_one_key if {
            count(data.quanta.owner.deny) == 0 with input.owner as "ana"
        }
        """,
    )
    results = PolicySet.load([tmp_path / "p"], builtin=False).test()
    assert [(r.name, r.outcome) for r in results] == [("test_whole_input", "error"), ("test_one_key", "pass")]
    assert "crashed" in results[0].message
    assert "with input.product as" in results[0].message


def test_a_syntax_error_in_a_test_file_is_positioned(tmp_path: Path) -> None:
    _write(tmp_path / "p" / "x.rego", _policy("x"))
    broken = _write(tmp_path / "p" / "x_test.rego", "package quanta.x_test\n\ntest_a if {\n\t[1,\n}\n")
    policies = PolicySet.load([tmp_path / "p"], builtin=False)
    with pytest.raises(PolicyError) as caught:
        policies.test()
    assert caught.value.message.startswith(f"{broken}:")
    assert caught.value.problems[0].line is not None


def test_loading_policies_first_does_not_break_duckdb(tmp_path: Path) -> None:
    """rego-cpp loaded before DuckDB corrupted DuckDB's heap; the policies module must load DuckDB first."""
    script = tmp_path / "order.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from quanta.governance.policies import PolicySet\n"
        "PolicySet.load([]).evaluate('validate', {'product': {'id': 'a.b', 'owner': 'x'}})\n"
        "from quanta.build.demo_data import generate_demo_data\n"
        "from quanta.mesh import Mesh\n"
        "root = Path(sys.argv[1])\n"
        "Mesh.init(root, demo=True)\n"
        "generate_demo_data(root, 0.01)\n"
        "print(sorted({r.status for r in Mesh.open(root).build()}))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "mesh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "['published']", done.stderr[-2000:]
