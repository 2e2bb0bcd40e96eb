"""Business rules of the coordinator, one module per concept; each runs inside a transaction."""
