"""Nano RPC test peer: a real ledger behind node-shaped JSON-RPC, for tests (no nano_node here)."""
