# METADATA
# title: Restricted or PII data is not shared into partner spaces
# description: Partners sit outside the organisation's controls; share a masked or aggregated product.
# stage: enforced
# events: [share]
package quanta.no_restricted_in_partner_space

import rego.v1

# rego-cpp 1.5 wraps builtin-made strings in quotes when they pass through sprintf: build with concat.
deny contains msg if {
	input.space.kind == "partner"
	count(_sensitive) > 0
	id := sprintf("%v", [object.get(input, ["product", "id"], "<unnamed>")])
	space := sprintf("%v", [object.get(input.space, "name", "<unnamed>")])
	msg := concat("", [
		"product ", id, " holds restricted or pii data (", concat(", ", sort(_sensitive)),
		") and may not be shared into partner space ", space,
		": share a masked or aggregated product instead",
	])
}

_sensitive contains sprintf("%s.%s", [object.get(table, "name", ""), prop.name]) if {
	some contract in object.get(input, "contracts", {})
	some table in object.get(contract, "schema", [])
	some prop in object.get(table, "properties", [])
	_is_sensitive(prop)
}

_sensitive contains object.get(table, "name", "") if {
	some contract in object.get(input, "contracts", {})
	some table in object.get(contract, "schema", [])
	_is_sensitive(table)
}

_is_sensitive(element) if _lower(object.get(element, "classification", "")) == "restricted"

_is_sensitive(element) if {
	some tag in object.get(element, "tags", [])
	_lower(tag) == "pii"
}

_lower(value) := lower(value) if is_string(value)

_lower(value) := "" if not is_string(value)
