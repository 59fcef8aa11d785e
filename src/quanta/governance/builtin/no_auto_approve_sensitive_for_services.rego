# METADATA
# title: Personal or restricted data is never granted to a service or an agent without its owners
# description: >-
#   A request from a service principal (or an AI agent) that would open pii or restricted columns is
#   routed to the product's owners, whatever other policies would approve.
# stage: enforced
# events: [access]
package quanta.no_auto_approve_sensitive_for_services

import rego.v1

route contains msg if {
	input.principal.kind in {"service", "agent"}
	_sensitive
	msg := concat("", [
		"a ", input.principal.kind, " principal asks for personal (pii) or restricted data: ",
		"the owners of ", input.product.id, " decide",
	])
}

_sensitive if input.request.pii == true

_sensitive if input.request.restricted == true
