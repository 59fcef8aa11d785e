"""``quanta new``: render a blueprint (a Copier template) into ``domains/<domain>/<name>/``.

Copier asks the blueprint's questions (or takes their defaults when no one can answer); the product is
rendered into a scratch folder first, because where it goes depends on the answers, then moved into
place. The answers, with the blueprint's source and version, stay in the product's
``.copier-answers.yml``: that is what ``quanta blueprint update`` replays.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from quanta.blueprints.catalog import Blueprint, BlueprintError
from quanta.blueprints.recorded import record, shipped_version

ANSWERS_FILE = ".copier-answers.yml"
HIDDEN = ("inferred_properties",)
"""Answers Quanta itself gives (never asked): the contract's properties inferred by ``--from``."""


@dataclass(frozen=True)
class NewProduct:
    """A product just made from a blueprint: where, from what, and the files written."""

    product_id: str
    folder: Path
    blueprint: str
    version: str | None
    files: list[Path]
    answers: dict[str, object] = field(default_factory=dict)


def parse_data(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs of ``--data`` as answers; a BlueprintError naming a malformed one."""
    answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BlueprintError(
                f"--data {pair!r} is not key=value",
                hint="e.g. --data owner=carol --data schedule='0 5 * * *'",
            )
        answers[key.strip()] = value
    return answers


def check_answers(blueprint: Blueprint, answers: dict[str, str]) -> None:
    """Refuse answers to questions the blueprint does not ask, naming the ones it does."""
    asked = {q.name for q in blueprint.questions()}
    unknown = sorted(set(answers) - asked - set(blueprint.preset) - set(HIDDEN))
    if unknown:
        raise BlueprintError(
            f"blueprint {blueprint.name!r} asks no question {unknown[0]!r}",
            hint=f"its questions: {', '.join(sorted(asked))} (quanta blueprint show {blueprint.name})",
        )
    fixed = {k: v for k, v in answers.items() if k in blueprint.preset and v != blueprint.preset[k]}
    if fixed:
        key = sorted(fixed)[0]
        raise BlueprintError(
            f"blueprint {blueprint.name!r} fixes {key}={blueprint.preset[key]}",
            hint=f"use the blueprint '{fixed[key]}' instead",
        )


def render(root: Path, blueprint: Blueprint, answers: dict[str, str], *, interactive: bool) -> NewProduct:
    """Render ``blueprint`` with ``answers`` into ``root/domains/<domain>/<name>``; refuses to overwrite."""
    from copier import run_copy

    check_answers(blueprint, answers)
    data: dict[str, object] = {**answers, **blueprint.preset}
    _refuse_existing(root, answers)
    scratch_root = root / ".quanta"
    scratch_root.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="new-", dir=scratch_root) as scratch:
        rendered = Path(scratch) / "product"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Copier's warnings about dirty sources, versions
                run_copy(
                    blueprint.source,
                    rendered,
                    data=data,
                    vcs_ref=blueprint.version,
                    defaults=not interactive,
                    quiet=True,
                    unsafe=False,
                )
        except (KeyboardInterrupt, EOFError) as exc:
            raise BlueprintError("stopped: nothing was written") from exc
        except Exception as exc:  # Copier's refusals: a validator, a bad template, an unsafe feature
            raise _translated(blueprint, exc) from exc
        recorded = read_answers(rendered)
        domain, name = str(recorded.get("domain", "")), str(recorded.get("name", ""))
        if not domain or not name:
            raise BlueprintError(
                f"blueprint {blueprint.name!r} does not ask for domain and name",
                hint="a Quanta blueprint needs questions 'domain' and 'name' (docs/blueprints.md)",
            )
        target = _target(root, domain, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(rendered), target)
    version = blueprint.version or (shipped_version() if blueprint.shipped else None)
    record(target, blueprint.name, version)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    return NewProduct(f"{domain}.{name}", target, blueprint.name, blueprint.version, files, recorded)


def read_answers(folder: Path) -> dict[str, object]:
    path = folder / ANSWERS_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data) if isinstance(data, dict) else {}


def _refuse_existing(root: Path, answers: dict[str, str]) -> None:
    if "domain" in answers and "name" in answers:
        _target(root, answers["domain"], answers["name"])


def _target(root: Path, domain: str, name: str) -> Path:
    target = root / "domains" / domain / name
    if target.exists():
        raise BlueprintError(
            f"{target} already exists: a product is there",
            hint="choose another --name or --domain, or remove the folder to start over",
        )
    return target


def _translated(blueprint: Blueprint, exc: Exception) -> BlueprintError:
    message = str(exc).strip() or type(exc).__name__
    if "validation" in message.lower() or isinstance(exc, ValueError):
        return BlueprintError(
            f"blueprint {blueprint.name!r} refused an answer: {message}",
            hint=f"fix the --data value (quanta blueprint show {blueprint.name} lists the questions)",
        )
    return BlueprintError(
        f"blueprint {blueprint.name!r} from {blueprint.source} could not be rendered: {message}",
        hint="check the blueprint's copier.yml and templates (docs/blueprints.md)",
    )
