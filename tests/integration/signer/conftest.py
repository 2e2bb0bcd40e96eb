"""A Litecoin Core regtest node for the signer's scenarios, and a signer wired to a fake pool."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.fake_coordinator import FakeCoordinator
from tests.support.litecoind import LitecoinNode
from tests.support.signer_templates import write_policy

from custody.signer import keystore
from custody.signer.client import CoordinatorClient
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.loop import SignerLoop
from custody.signer.policy import load_policy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner


@pytest.fixture(scope="session")
def litecoind() -> Iterator[LitecoinNode]:
    """One regtest node per session with a mature, funded `miner` wallet; it takes fee bumps."""
    with LitecoinNode(mempool_replacement=True) as node:
        node.create_wallet("miner")
        node.mine(101)
        yield node


@dataclass
class Deployment:
    """A signer with a fresh keystore, its loop wired to an in-memory coordinator."""

    signer: TemplateSigner
    loop: SignerLoop
    coordinator: FakeCoordinator


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    store = tmp_path / "keystore.json"
    keystore.create(store, keystore.new_mnemonic(), "integration passphrase", scrypt_n=2**10)
    keys = KeyRing(keystore.unlock(store, "integration passphrase").seed)
    policy = load_policy(write_policy(tmp_path, max_fee_rate=1000))
    coordinator = FakeCoordinator()
    settings = SignerSettings(pool_target=4, change_pool_target=2)
    with (
        Journal(tmp_path / "journal.jsonl") as journal,
        CoordinatorClient("http://coordinator", coordinator.token,
                          transport=coordinator.transport()) as client,
    ):
        signer = TemplateSigner(policy, keys, journal)
        yield Deployment(signer, SignerLoop(signer, client, settings), coordinator)
