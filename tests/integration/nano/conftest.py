"""The Nano scenarios' stack: a fresh peer, coordinator, signer and watcher per test."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.nano.stack import Stack, build_stack


@pytest.fixture
def stack(tmp_path: Path, sqlite_template: Path) -> Iterator[Stack]:
    """Everything a scenario needs, torn down after it."""
    with build_stack(tmp_path, sqlite_template) as world:
        yield world
