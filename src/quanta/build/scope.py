"""What a build of some products depends on, so one domain's broken file stops only its own builds.

A workspace is validated as a whole (references cross domains), but a build of ``sales.orders``
needs only ``sales.orders``, its inputs and their files: an invalid descriptor or an unregistered
change in another domain is that domain's business, not a reason to refuse this build.
"""

from __future__ import annotations

from pathlib import Path

from quanta.build.planner import select
from quanta.errors import NotFoundError, Problem
from quanta.spec.validation import Validation


def needed(validation: Validation, selectors: list[str]) -> tuple[Validation, set[str]]:
    """The part of ``validation`` a build of ``selectors`` depends on (the chosen products and their
    inputs, with every problem in their folders and any problem no product folder holds), and the
    ids chosen. A selector naming a product whose descriptor does not load reports its problems."""
    try:
        chosen = select(validation.products, selectors)
    except NotFoundError:
        validation.raise_for_errors()  # the product asked for is there, broken: say why
        raise
    with_inputs = select(validation.products, [f"+{pid}" for pid in sorted(chosen)]) if chosen else set()
    products = [p for p in validation.products if p.product.id in with_inputs]
    folders = [p.path.resolve().parent for p in products]
    elsewhere = [p.path.resolve().parent for p in validation.products if p.product.id not in with_inputs]
    bound = {c.path.resolve() for p in products for c in p.contracts.values()}
    scoped = Validation(
        products=products,
        contracts=[c for c in validation.contracts if c.path.resolve() in bound],
        problems=[p for p in validation.problems if _concerns(p, folders, elsewhere)],
        files=validation.files,
    )
    return scoped, chosen


def _concerns(problem: Problem, folders: list[Path], elsewhere: list[Path]) -> bool:
    """Whether ``problem`` is in one of ``folders`` or, being in no other product's folder, may be."""
    if not problem.source:
        return True
    source = Path(problem.source).resolve()
    if any(source.is_relative_to(folder) for folder in folders):
        return True
    return not any(source.is_relative_to(folder) for folder in elsewhere) and not _product_folder(source)


def _product_folder(source: Path) -> bool:
    """Whether ``source`` sits beside a product descriptor (a product that failed to load)."""
    from quanta.workspace import PRODUCT_FILE

    return (source.parent / PRODUCT_FILE).is_file()


def healthy(validation: Validation) -> set[str]:
    """The products a build could take now: nothing in their files or their inputs' has an error."""
    return {p.product.id for p in validation.products if needed(validation, [p.product.id])[0].ok}
