"""The coordinator: the HTTP API, the only database, the ledger."""
