# METADATA
# title: Source-aligned products are not public
# description: Source-aligned data mirrors operational systems; wide audiences get a curated product.
# stage: enforced
# events: [validate, publish]
package quanta.source_aligned_not_public

import rego.v1

deny contains msg if {
	input.product.type == "source-aligned"
	is_string(input.product.visibility)
	lower(input.product.visibility) == "public"
	id := object.get(input.product, "id", "<unnamed>")
	msg := sprintf(
		"source-aligned product %s may not be public: set the customProperty visibility to domain or organization, or publish a consumer-aligned product for a wide audience",
		[id],
	)
}
