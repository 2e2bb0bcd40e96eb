"""The operator's tools: an Ed25519 key, and approvals and reissues signed with it."""
