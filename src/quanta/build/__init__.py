"""Building data products: sources, transforms, planning, write-audit-publish."""
