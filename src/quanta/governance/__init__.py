"""Governance: principals, roles, clearance levels and tags, masks, access, policies, audit log."""
