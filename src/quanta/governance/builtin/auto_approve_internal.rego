# METADATA
# title: Internal data is approved at once for its own organisation, given a purpose
# description: >-
#   An access request for columns classified public or internal, from a principal of the product's own
#   organisation who states a purpose, is granted at once, for at most 30 days; anything else goes to
#   the owners (or is refused by another policy).
# stage: enforced
# events: [access]
package quanta.auto_approve_internal

import rego.v1

approve := {"max_days": 30, "reason": "internal data, asked by its own organisation with a stated purpose"} if {
	not _egress
	input.request.classification in {"public", "internal"}
	is_string(input.principal.organisation)
	input.principal.organisation == input.product.organisation
	trim_space(input.request.purpose) != ""
}

_egress if input.request.egress == true
