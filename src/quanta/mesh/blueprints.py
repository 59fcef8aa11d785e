"""Blueprints in the ``Mesh`` facade: new products from Copier templates, contracts inferred from data,
community blueprint sources and updates of products made from them.

An area of the ``Mesh`` facade. A new product is validated as soon as it is written; one made ``--from``
data gets a contract inferred from a profile of that data (files, a database table, or a published
product read through the governed query path, so masks and grants apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.blueprints.catalog import Question  # at run time: the REST API's model of BlueprintEntry

WAREHOUSE = "warehouse"
"""The shipped blueprint of a consumer-aligned view over an existing warehouse's tables."""
HISTORY_READS = 20
"""``quanta contract suggest`` reads the data of at most this many earlier publishes (the newest)."""

if TYPE_CHECKING:
    from quanta.blueprints.catalog import Blueprint
    from quanta.blueprints.inference import Profile
    from quanta.blueprints.origin import Origin
    from quanta.blueprints.render import NewProduct
    from quanta.blueprints.suggest import Tightened
    from quanta.blueprints.update import Updated
    from quanta.engines.base import Input
    from quanta.mesh.core import MeshCore
    from quanta.mesh.governance import GovernanceArea
    from quanta.mesh.specs import SpecsArea
    from quanta.spec.validation import Validation


@dataclass(frozen=True)
class Created:
    """``quanta new``'s result: the product written, its validation, and the profile behind an inferred
    contract (None without ``--from``)."""

    product: NewProduct
    validation: Validation
    profile: Profile | None
    next_commands: list[str]


@dataclass(frozen=True)
class BlueprintEntry:
    """A blueprint as the marketplace lists it: what it makes, its versions and questions, and the
    exact command that makes a product from it."""

    name: str
    description: str
    shipped: bool
    source: str
    versions: list[str]
    questions: list[Question]
    command: str


@dataclass(frozen=True)
class Suggested:
    """``quanta contract suggest``'s result: the suggestions and diff, and (after ``--apply``) the
    validation of the product with them."""

    tightened: Tightened
    validation: Validation | None


class BlueprintsArea:
    """New products from blueprints, inferred contracts, community blueprint sources, updates."""

    def __init__(self, core: MeshCore, specs: SpecsArea, governed: GovernanceArea) -> None:
        self.core, self._specs, self._governed = core, specs, governed

    def blueprints(self) -> list[Blueprint]:
        """The shipped blueprints, then the workspace's community ones (``blueprints.yaml``)."""
        from quanta.blueprints.catalog import all_blueprints

        return all_blueprints(self._root_or_none())

    def blueprint(self, name: str) -> Blueprint:
        """One blueprint, with its version tags (a BlueprintError naming the known ones)."""
        from quanta.blueprints.catalog import find

        return find(self._root_or_none(), name)

    def blueprint_entries(self) -> list[BlueprintEntry]:
        """Every blueprint with its questions and the ``quanta new`` command (a community blueprint's
        versions and questions are read from its repository)."""
        entries = []
        for listed in self.blueprints():
            found = listed if listed.shipped else self.blueprint(listed.name)
            questions = found.questions()
            asked = [q.name for q in questions if q.name not in ("domain", "name")]
            example = "".join(f" --data {name}=..." for name in asked[:2])
            command = f"quanta new {found.name} --domain DOMAIN --name NAME{example}"
            source = "shipped with Quanta" if found.shipped else found.source
            entries.append(
                BlueprintEntry(
                    found.name, found.description, found.shipped, source, found.versions, questions, command
                )
            )
        return entries

    def add_blueprint(self, name: str, source: str, description: str | None = None) -> Blueprint:
        """List a community blueprint (a git URL or folder holding ``copier.yml``) in the workspace."""
        from quanta.blueprints.catalog import add

        return add(self.core.require_workspace().root, name, source, description)

    def new_product(
        self,
        blueprint: str | None,
        answers: dict[str, str],
        *,
        source: str | None = None,
        interactive: bool = False,
    ) -> Created:
        """Render a blueprint into ``domains/<domain>/<name>/`` and validate it; with ``source`` (a file,
        database URL or product id), the contract is inferred from that data. The ``warehouse``
        blueprint given its database (``database_url``) infers it from the join it writes, unasked: its
        columns are the warehouse's, known only by reading it."""
        from quanta.blueprints.catalog import DEFAULT
        from quanta.blueprints.inferred import properties_yaml
        from quanta.blueprints.render import render

        root = self.core.require_workspace().root
        found: Profile | None = None
        answers = dict(answers)
        if source is None and blueprint == WAREHOUSE and answers.get("database_url"):
            source = answers["database_url"]
        if source is not None:
            origin = self._origin(source, answers, blueprint)
            found = self.infer(origin)
            answers = {**origin.answers, **answers, "inferred_properties": properties_yaml(found)}
            blueprint = blueprint or origin.blueprint
        chosen = self.blueprint(blueprint or DEFAULT)
        if "owner" not in answers and any(q.name == "owner" for q in chosen.questions()):
            answers["owner"] = self.core.principal().id
        made = render(root, chosen, answers, interactive=interactive)
        validation = self._specs.validate([made.folder])
        folder = self.core.relative(made.folder)
        steps = [f"quanta validate {folder}", f"quanta build {made.product_id}"]
        return Created(made, validation, found, steps)

    def infer(self, origin: Origin) -> Profile:
        """Profile the data of ``origin`` in DuckDB (one aggregate scan, then a sample)."""
        from quanta.blueprints.inference import profile
        from quanta.engines import get_engine

        return profile(get_engine("duckdb"), origin.data, origin.shown)

    def suggest_contract(self, product_id: str, *, apply: bool = False, min_publishes: int = 2) -> Suggested:
        """Tighter contract rules the product's published history supports (the profiles of its
        publishes, and its current data read through the governed query path as the acting principal),
        as a diff of its contract file; ``apply`` writes them and validates the result."""
        from quanta.blueprints.catalog import BlueprintError
        from quanta.blueprints.suggest import Current, tighten
        from quanta.engines import get_engine
        from quanta.engines.base import ArrowInput
        from quanta.errors import NotFoundError

        everything = self._specs.validate()
        loaded = next((p for p in everything.products if p.product.id == product_id), None)
        if loaded is None:
            raise NotFoundError(
                f"{product_id} is not a product of this workspace",
                hint="quanta contract suggest works on the producer's files (see quanta ls)",
            )
        history = self.core.registry.profiles(product_id)
        if len(history) < min_publishes:
            raise BlueprintError(
                f"{product_id} has {len(history)} publish(es): suggestions need at least {min_publishes}",
                hint=f"build it again as new data arrives (quanta build {product_id}), or lower "
                "--min-publishes",
            )
        with self._governed.governed_stream(f"select * from {product_id}") as stream:
            data = ArrowInput(stream.reader.read_all())
        earlier = self._earlier_publishes(product_id)
        current = Current(get_engine("duckdb"), data, f"product {product_id}", earlier)
        found = tighten(loaded, history, current, self.core.require_workspace().root)
        validation = None
        if apply and found.suggestions:
            for path, text in found.texts.items():
                Path(path).write_text(text, encoding="utf-8")
            validation = self._specs.validate([loaded.folder])
        return Suggested(found, validation)

    def _earlier_publishes(self, product_id: str) -> list[tuple[str, Input]]:
        """The data of the product's publishes before the current one (at most the last
        :data:`HISTORY_READS`), oldest first, each read through the governed query path as of its
        publish time; one that cannot be read any more (a retired major version, expired snapshots)
        is left out."""
        from quanta.engines.base import ArrowInput
        from quanta.errors import QuantaError

        current = self.core.registry.current_publish(product_id)
        publishes = [
            p for p in self.core.publishes(product_id) if current is None or p.run_id != current.run_id
        ]
        found: list[tuple[str, Input]] = []
        for publish in publishes[-HISTORY_READS:]:
            ref = f"{product_id}@{publish.created_at.isoformat()}"
            try:
                with self._governed.governed_stream(f'select * from "{ref}"') as stream:
                    table = stream.reader.read_all()
            except QuantaError:
                continue
            shown = f"product {product_id} {publish.version} published {publish.created_at:%Y-%m-%d %H:%M}"
            found.append((shown, ArrowInput(table)))
        return found

    def update_product(self, product_id: str | None = None) -> list[Updated]:
        """Apply the newest version of each product's blueprint (or one product's) with ``copier
        update``: a three-way merge that keeps local edits and reports conflicts as file:line."""
        from quanta.blueprints.update import update_products

        root = self.core.require_workspace().root
        return update_products(root, self._product_folders(product_id))

    def _product_folders(self, product_id: str | None) -> list[Path]:
        from quanta.errors import NotFoundError

        root = self.core.require_workspace().root
        folders = sorted(p.parent for p in (root / "domains").glob("*/*/.copier-answers.yml"))
        if product_id is None:
            return folders
        chosen = [f for f in folders if f"{f.parent.name}.{f.name}" == product_id]
        if not chosen:
            raise NotFoundError(
                f"{product_id} was not made from a blueprint (no domains/*/*/.copier-answers.yml for it)",
                hint="quanta blueprint update works on products made with 'quanta new'",
            )
        return chosen

    def _origin(self, source: str, answers: dict[str, str], blueprint: str | None = None) -> Origin:
        from quanta.blueprints.origin import (
            PRODUCT_ID,
            from_database,
            from_files,
            from_warehouse,
            unknown_origin,
        )

        root = self.core.require_workspace().root
        if "://" in source and (blueprint == WAREHOUSE or (blueprint is None and "hub" in answers)):
            return from_warehouse(source, answers, root)
        if "://" in source:
            return from_database(source, answers.get("table"), root)
        found = from_files(source, root, Path.cwd())
        if found is not None:
            return found
        if PRODUCT_ID.match(source) and source in self.core.registry.product_ids():
            return self._product_origin(source)
        raise unknown_origin(source)

    def _product_origin(self, product_id: str) -> Origin:
        from quanta.blueprints.origin import Origin
        from quanta.engines.base import ArrowInput

        with self._governed.governed_stream(f"select * from {product_id}") as stream:
            table = stream.reader.read_all()
        answers = {"name": f"{product_id.split('.')[1]}_view", "inputs": product_id}
        return Origin(ArrowInput(table), f"product {product_id}", "aggregate", answers)

    def _root_or_none(self) -> Path | None:
        return self.core.workspace.root if self.core.workspace is not None else None
