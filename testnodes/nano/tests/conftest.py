"""Fixtures of the peer's HTTP tests: a peer on a free port, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testnodes.nano.server import RunningPeer, start_peer
from testnodes.nano.tests.client import Rpc


@pytest.fixture
def peer() -> Iterator[RunningPeer]:
    with start_peer() as running:
        yield running


@pytest.fixture
def rpc(peer: RunningPeer) -> Iterator[Rpc]:
    client = Rpc(peer.url)
    yield client
    client.close()
