"""Repositories: all SQL of the service, mapping rows to domain objects."""
