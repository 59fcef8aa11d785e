# METADATA
# title: Every product has an owning team
# description: Consumers need someone to ask and someone to page; an unowned product has neither.
# stage: enforced
# events: [validate, publish]
package quanta.owner_required

import rego.v1

deny contains msg if {
	not _has_owner
	id := object.get(input, ["product", "id"], "<unnamed>")
	msg := sprintf("product %s has no owner: set owner (a person) or team.name in the product descriptor", [id])
}

_has_owner if {
	is_string(input.product.owner)
	trim_space(input.product.owner) != ""
}

_has_owner if {
	is_string(input.product.team.name)
	trim_space(input.product.team.name) != ""
}
