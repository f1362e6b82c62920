"""Seed data: the plan texts, the YAML catalogs derived from them, and sample-data generators."""
