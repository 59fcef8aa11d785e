# METADATA
# title: Restricted data does not leave the platform
# description: Exports escape masking, row filters and the audit log, so restricted columns stay inside.
# stage: enforced
# events: [access]
package quanta.no_restricted_egress

import rego.v1

# rego-cpp 1.5 wraps builtin-made strings in quotes when they pass through sprintf: build with concat.
deny contains msg if {
	_egress
	count(_restricted) > 0
	msg := concat("", [
		"exporting restricted data is not allowed (", concat(", ", sort(_restricted)),
		"): query it in place, or request an output port that masks these columns",
	])
}

_egress if input.request.purpose == "export"

_egress if input.request.egress == true

_restricted contains sprintf("%s.%s", [object.get(table, "name", ""), prop.name]) if {
	some port, contract in object.get(input, "contracts", {})
	_requested(port)
	some table in object.get(contract, "schema", [])
	some prop in object.get(table, "properties", [])
	_lower(object.get(prop, "classification", "")) == "restricted"
}

_lower(value) := lower(value) if is_string(value)

_lower(value) := "" if not is_string(value)

# A request for one port only exports that port's data.
_requested(port) if not input.request.port

_requested(port) if input.request.port == port
