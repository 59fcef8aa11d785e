# Unit tests for the shipped policies; run them with `quanta policy test`.
# rego-cpp 1.5.2 crashes on `with input as {...}` when the rule under test uses helper rules,
# and ignores `with ... as <rule>`, so these tests replace one input key at a time with a literal
# or a local variable (`with input.product as {...}`).
package quanta.builtin_test

import rego.v1

restricted_contracts := {"orders": {"schema": [{"name": "orders", "properties": [
	{"name": "id"},
	{"name": "ssn", "classification": "restricted"},
]}]}}

plain_contracts := {"orders": {"schema": [{"name": "orders", "properties": [{"name": "id"}]}]}}

test_owner_required_allows_owned_product if {
	count(data.quanta.owner_required.deny) == 0 with input.product as {"id": "p", "team": {"name": "sales"}}
}

test_owner_required_allows_a_named_owner if {
	count(data.quanta.owner_required.deny) == 0 with input.product as {"id": "p", "owner": "alice"}
}

test_owner_required_denies_unowned_product if {
	count(data.quanta.owner_required.deny) == 1 with input.product as {"id": "p", "team": {"name": " "}}
}

test_output_port_contract_denies_port_without_contract if {
	ports := [{"name": "a", "contract": "c-a"}, {"name": "b"}]
	data.quanta.output_port_contract.deny == {"output port 'b' has no data contract: set outputPorts[].contract to a contract id"} with input.product as {"outputPorts": ports}
}

test_pii_classified_allows_classified_or_tagged_columns if {
	contracts := {"o": {"schema": [{"name": "t", "properties": [
		{"name": "email", "tags": ["pii"]},
		{"name": "ssn", "classification": "restricted"},
	]}]}}
	detections := [{"column": "email", "tag": "pii"}, {"column": "t.ssn", "tag": "pii"}]
	count(data.quanta.pii_classified.deny) == 0 with input.contracts as contracts with input.detections as detections
}

test_pii_classified_denies_unclassified_column if {
	plain := plain_contracts
	detections := [{"column": "phone", "tag": "pii"}]
	some msg in data.quanta.pii_classified.deny with input.contracts as plain with input.detections as detections
	contains(msg, "phone (pii)")
}

test_source_aligned_not_public if {
	count(data.quanta.source_aligned_not_public.deny) == 1 with input.product as {"type": "source-aligned", "visibility": "public"}
	count(data.quanta.source_aligned_not_public.deny) == 0 with input.product as {"type": "aggregate", "visibility": "public"}
}

test_minimum_maturity if {
	count(data.quanta.minimum_maturity.deny) == 1 with input.maturity as {"level": 1}
	count(data.quanta.minimum_maturity.deny) == 0 with input.maturity as {"level": 2}
}

test_no_restricted_in_partner_space if {
	restricted := restricted_contracts
	plain := plain_contracts
	count(data.quanta.no_restricted_in_partner_space.deny) == 1 with input.space as {"kind": "partner"} with input.contracts as restricted
	count(data.quanta.no_restricted_in_partner_space.deny) == 0 with input.space as {"kind": "internal"} with input.contracts as restricted
	count(data.quanta.no_restricted_in_partner_space.deny) == 0 with input.space as {"kind": "partner"} with input.contracts as plain
}

test_no_restricted_egress if {
	restricted := restricted_contracts
	count(data.quanta.no_restricted_egress.deny) == 1 with input.request as {"purpose": "export"} with input.contracts as restricted
	count(data.quanta.no_restricted_egress.deny) == 1 with input.request as {"egress": true} with input.contracts as restricted
	count(data.quanta.no_restricted_egress.deny) == 0 with input.request as {"purpose": "analytics"} with input.contracts as restricted
}
