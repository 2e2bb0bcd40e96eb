"""Tests of the Nano test peer: vectors, ledger rules, HTTP shapes, confirmations."""
