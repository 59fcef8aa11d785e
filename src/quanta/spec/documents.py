"""JSON documents as the registry stores and serves them: ODPS descriptors, ODCS contracts, event
payloads. Their shape is the standard's (validated against the official schemas where they enter),
so code that passes them along names them ``JsonObject`` rather than spelling out ``dict[str, Any]``."""

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
