"""Custody stack for exchanges: a coordinator, chain watchers and an isolated offline signer."""

__version__ = "0.1.0"
