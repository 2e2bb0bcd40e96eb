"""HTTP routes under /v1, one module per concept; thin: they check roles and call a service."""
