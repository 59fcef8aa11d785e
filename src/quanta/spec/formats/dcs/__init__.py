"""Data Contract Specification (the datacontract-cli format, 0.9 and 1.x) read as an ODCS v3.2.0 contract.

Where ODCS has a place for something, it goes there; what ODCS cannot express travels as
``customProperties`` under its DCS name, so nothing the author wrote is silently dropped. Which
constraints a logical type may carry, and which fields a server type has, are read from the official
ODCS schema rather than restated here.

:mod:`.importer` reads the document as a whole, :mod:`.fields` its models and fields, :mod:`.quality` their
quality rules and :mod:`.service_levels` its service levels; :mod:`.odcs_schema` answers what ODCS allows.
"""

from __future__ import annotations

from quanta.spec.formats.dcs.document import custom
from quanta.spec.formats.dcs.fields import CONSTRAINTS, LOGICAL_TYPES
from quanta.spec.formats.dcs.importer import DcsImporter, to_odcs
from quanta.spec.formats.dcs.odcs_schema import odcs_validator, server_fields, type_options
from quanta.spec.formats.dcs.service_levels import duration, service_levels

__all__ = [
    "CONSTRAINTS",
    "LOGICAL_TYPES",
    "DcsImporter",
    "custom",
    "duration",
    "odcs_validator",
    "server_fields",
    "service_levels",
    "to_odcs",
    "type_options",
]
