"""Fixtures for the Nano signer's unit tests: the test seed's keys, the XNO policy, a journal."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.policy import Policy, load_policy
from custody.signer.signing import TemplateSigner
from tests.unit.nano.nano_templates import SEED, write_nano_policy


class Clock:
    """A settable clock: the rolling 24-hour limit is tested without waiting a day."""

    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def nano_keyring() -> KeyRing:
    """Keys of the test mnemonic."""
    return KeyRing(SEED)


@pytest.fixture
def nano_policy(tmp_path: Path) -> Policy:
    """XNO on nano-dev with the test representative."""
    return load_policy(write_nano_policy(tmp_path))


@pytest.fixture
def nano_journal(tmp_path: Path) -> Iterator[Journal]:
    """An empty journal."""
    with Journal(tmp_path / "journal.jsonl") as j:
        yield j


@pytest.fixture
def nano_clock() -> Clock:
    """A fixed, settable clock."""
    return Clock()


@pytest.fixture
def nano_signer(
    nano_policy: Policy, nano_keyring: KeyRing, nano_journal: Journal, nano_clock: Clock
) -> TemplateSigner:
    """A signer over the test seed, the XNO policy and an empty journal."""
    return TemplateSigner(nano_policy, nano_keyring, nano_journal, clock=nano_clock)
