"""Fixtures for the signer's unit tests: the BIP84 test account, the test policy, a journal."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bip_utils import Bip39SeedGenerator

from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.policy import Policy, load_policy
from custody.signer.signing import TemplateSigner
from tests.support.signer_templates import MNEMONIC, write_policy


class Clock:
    """A settable clock: the rolling 24-hour limit is tested without waiting a day."""

    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def keyring() -> KeyRing:
    """Keys of BIP84's test mnemonic."""
    return KeyRing(bytes(Bip39SeedGenerator(MNEMONIC).Generate()))


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    """The test policy (see tests/support/signer_templates.py)."""
    return load_policy(write_policy(tmp_path))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """An empty journal."""
    with Journal(tmp_path / "journal.jsonl") as j:
        yield j


@pytest.fixture
def clock() -> Clock:
    """A fixed, settable clock."""
    return Clock()


@pytest.fixture
def signer(policy: Policy, keyring: KeyRing, journal: Journal, clock: Clock) -> TemplateSigner:
    """A signer over the test account, policy and journal."""
    return TemplateSigner(policy, keyring, journal, clock=clock)
