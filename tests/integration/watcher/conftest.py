"""Fixtures for the watcher's scenarios: one regtest node per file, a fresh stack per test."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.watcher.stack import Stack, WatchNode, build_stack


@pytest.fixture(scope="module")
def node() -> Iterator[WatchNode]:
    """A regtest node with a mature `miner` wallet; each scenario file gets its own."""
    with WatchNode() as n:
        n.create_wallet("miner")
        n.mine(101)
        yield n


@pytest.fixture
def stack(node: WatchNode, tmp_path: Path, sqlite_template: Path) -> Iterator[Stack]:
    """Coordinator, signer and watcher wired to `node`, with an empty database."""
    with build_stack(node, tmp_path, sqlite_template) as world:
        yield world
