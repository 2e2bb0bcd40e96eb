"""Fixtures for the Ethereum scenarios: a fresh anvil, token, coordinator, signer and watchers."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ethereum.stack import EthStack, build_stack


@pytest.fixture
def stack(tmp_path: Path, sqlite_template: Path) -> Iterator[EthStack]:
    """The whole Ethereum world on an automining anvil, with an empty database."""
    with build_stack(tmp_path, sqlite_template) as world:
        yield world
