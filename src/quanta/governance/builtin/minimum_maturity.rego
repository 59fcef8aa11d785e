# METADATA
# title: Published products reach maturity level 2
# description: Level 2 means documented, owned and checked; below that consumers take a risk.
# stage: grace
# events: [publish]
package quanta.minimum_maturity

import rego.v1

deny contains msg if {
	level := input.maturity.level
	is_number(level)
	level < 2
	msg := sprintf(
		"maturity level %v is below the minimum of 2: add a description, quality checks and an SLA before publishing",
		[level],
	)
}
