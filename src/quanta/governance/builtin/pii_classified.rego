# METADATA
# title: Sensitive columns found on landing are classified in the contract
# description: Classification drives masking and access; a detected but unclassified column leaks.
# stage: enforced
# events: [publish]
package quanta.pii_classified

import rego.v1

# rego-cpp 1.5 wraps builtin-made strings in quotes when they pass through sprintf: build with concat.
deny contains msg if {
	count(_unclassified) > 0
	msg := concat("", [
		"sensitive columns are not classified in the contract: ",
		concat(", ", sort(_unclassified)),
		"; set classification: confidential or restricted on each property, or add the detected tag to its tags",
	])
}

_unclassified contains label if {
	some detection in object.get(input, "detections", [])
	is_string(detection.column)
	not _covered(detection)
	label := concat("", [detection.column, " (", _tag(detection), ")"])
}

_tag(detection) := lower(detection.tag) if is_string(detection.tag)

_tag(detection) := "sensitive" if not is_string(detection.tag)

# A property is known by its own name and by "<schema object>.<property>".
_properties contains entry if {
	some contract in object.get(input, "contracts", {})
	some table in object.get(contract, "schema", [])
	some prop in object.get(table, "properties", [])
	entry := {
		"names": {prop.name, sprintf("%s.%s", [object.get(table, "name", ""), prop.name])},
		"classification": _lower(object.get(prop, "classification", "")),
		"tags": {_lower(tag) | some tag in object.get(prop, "tags", [])},
	}
}

_lower(value) := lower(value) if is_string(value)

_lower(value) := "" if not is_string(value)

_covered(detection) if {
	some entry in _properties
	detection.column in entry.names
	entry.classification in {"confidential", "restricted"}
}

_covered(detection) if {
	some entry in _properties
	detection.column in entry.names
	_tag(detection) in entry.tags
}
