# METADATA
# title: Every output port has a data contract
# description: Consumers build on the contract, not on the tables behind the port.
# stage: enforced
# events: [validate, publish]
package quanta.output_port_contract

import rego.v1

deny contains msg if {
	some port in object.get(input, ["product", "outputPorts"], [])
	not _has_contract(port)
	name := object.get(port, "name", "<unnamed>")
	msg := sprintf("output port '%s' has no data contract: set outputPorts[].contract to a contract id", [name])
}

_has_contract(port) if {
	is_string(port.contract)
	trim_space(port.contract) != ""
}

# An ODCS contract may also be written inline under the port.
_has_contract(port) if {
	is_object(port.contract)
	count(port.contract) > 0
}
