"""The signer's scenarios run against the real coordinator: a SQLite-backed coordinator served
over loopback HTTP, a Litecoin Core regtest node, and a signer whose loop polls that server.

The exchange, the operators and the watcher are played through the in-process test client with
their own role tokens; everything the signer does goes over real HTTP with the signer's token.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from embit.psbt import PSBT
from fastapi.testclient import TestClient

from custody.contract.addresses import PoolAddress
from custody.contract.templates import Template
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.auth import Role
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from custody.signer import keystore
from custody.signer.client import CoordinatorClient
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.loop import SignerLoop
from custody.signer.policy import load_policy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner
from tests.support.api import Api, test_config
from tests.support.keys import approval
from tests.support.litecoind import LitecoinNode
from tests.support.server import serve
from tests.support.signer_templates import ONE, encode, write_policy

CONFIRMATIONS = 3  # the test config's LTC confirmations


@pytest.fixture
def runtime(tmp_path: Path, sqlite_template: Path) -> Iterator[Runtime]:
    """The coordinator on a fresh SQLite file with the test currencies (these scenarios are about
    the signer; the databases have their own suites). Its file lives under tmp_path/coordinator."""
    directory = tmp_path / "coordinator"
    directory.mkdir()
    shutil.copy(sqlite_template, directory / "custody.sqlite3")
    url = f"sqlite:///{directory / 'custody.sqlite3'}"
    settings = CoordinatorSettings(database_url=url, migrate_on_start=False, max_body_bytes=65536)
    engine = make_engine(url)
    yield Runtime(
        settings=settings, config=test_config(), engine=engine, sessions=make_sessionmaker(engine)
    )
    engine.dispose()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    """The same coordinator in-process, with a client and a token per role."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Api(runtime, client)


@pytest.fixture
def coordinator_url(runtime: Runtime) -> Iterator[str]:
    """The coordinator served by uvicorn on a loopback port: where the signer connects."""
    with serve(runtime) as url:
        yield url


@pytest.fixture(scope="session")
def litecoind() -> Iterator[LitecoinNode]:
    """One regtest node per session with a mature, funded `miner` wallet; it takes fee bumps."""
    with LitecoinNode(mempool_replacement=True) as node:
        node.create_wallet("miner")
        node.mine(101)
        yield node


def btc(amount: int) -> str:
    """Base units as the node's decimal string."""
    return str(Decimal(amount) / ONE)


@dataclass
class Steps:
    """The exchange's, the operators' and the watcher's steps, through `api` with their tokens."""

    api: Api

    def pool(self) -> list[PoolAddress]:
        """Every pool address of LTC as the coordinator holds it (what the signer posted)."""
        r = self.api.watcher.get("/v1/addresses", currency="LTC")
        assert r.status_code == 200, r.text
        return [PoolAddress(**{k: v for k, v in a.items() if k != "imported"}) for a in r.json()]

    def import_pool(self, node: LitecoinNode, wallet: str) -> list[PoolAddress]:
        """The watcher's step: import what is not imported yet watch-only, and say so."""
        r = self.api.watcher.get("/v1/addresses", currency="LTC", imported="false")
        assert r.status_code == 200, r.text
        fresh = r.json()
        for entry in fresh:
            node.rpc("importpubkey", entry["public_key"], entry["derivation_path"], False,
                     wallet=wallet)
        if fresh:
            mark = {"currency": "LTC", "addresses": [a["address"] for a in fresh]}
            assert self.api.watcher.post("/v1/addresses/imported", mark).status_code == 200
        return self.pool()

    def deposit(self, node: LitecoinNode, user: str, *amounts: int) -> list[dict[str, Any]]:
        """The user pays each amount to a deposit address of theirs (a fresh one after the first);
        after the confirmations the watcher reports the payments as they are on chain. Returns
        the coins ({txid, vout})."""
        sent = []
        for n, amount in enumerate(amounts):
            body = {"user_id": user, "currency": "LTC", "fresh": n > 0}
            r = self.api.exchange.post("/v1/deposit-addresses", body, key=f"{user}-deposit-{n}")
            assert r.status_code == 200, r.text
            address = r.json()["address"]
            sent.append((node.rpc("sendtoaddress", address, btc(amount), wallet="miner"),
                         address, amount))
        node.mine(CONFIRMATIONS)
        reports, coins = [], []
        for txid, address, amount in sent:
            tx = node.rpc("gettransaction", txid, wallet="miner")
            [vout] = [d["vout"] for d in tx["details"] if d["address"] == address]
            coins.append({"txid": txid, "vout": vout})
            reports.append({
                "currency": "LTC", "txid": txid, "output_index": vout, "address": address,
                "amount": str(amount), "block_hash": tx["blockhash"],
                "block_height": tx["blockheight"], "confirmations": tx["confirmations"],
            })
        r = self.api.watcher.post("/v1/deposits", {"deposits": reports})
        assert r.status_code == 200, r.text
        assert {d["state"] for d in r.json()} == {"credited"}, r.text
        return coins

    def withdraw(
        self, request_id: str, user: str, destination: str, amount: int, approvers: int = 0
    ) -> str:
        """The exchange asks for a signed withdrawal; `approvers` operators approve it."""
        intent = WithdrawalIntent(
            request_id=request_id, user_id=user, currency="LTC", amount=amount,
            destination=destination,
        )
        r = self.api.withdraw(intent)
        assert r.status_code == 200, r.text
        wid = str(r.json()["id"])
        for operator in range(approvers):
            body = approval(intent, operator)
            r = self.api.operator.post(f"/v1/withdrawals/{wid}/approvals", body)
            assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved", r.text
        return wid

    def reserve_change(self, key: str) -> str:
        """The watcher reserves a change address of the pool for the template it builds."""
        r = self.api.watcher.post("/v1/addresses/change", {"currency": "LTC"}, key=key)
        assert r.status_code == 200, r.text
        return str(r.json()["address"])

    def post_template(
        self, payload: str, txid: str, withdrawal_ids: list[str], replaces: str | None = None
    ) -> httpx.Response:
        """The watcher posts an unsigned template (a PSBT) for withdrawals."""
        body = {"currency": "LTC", "kind": "withdrawal", "withdrawal_ids": withdrawal_ids,
                "payload": payload, "txid": txid, "replaces": replaces}
        return self.api.watcher.post("/v1/templates", body)

    def template(self, tid: str) -> Template:
        """The template as the coordinator holds it now."""
        r = self.api.watcher.get(f"/v1/templates/{tid}")
        assert r.status_code == 200, r.text
        return Template.model_validate(r.json())

    def report(self, tid: str, step: str, body: dict[str, Any]) -> Template:
        """The watcher reports what the chain did (broadcast, confirmation, failure)."""
        r = self.api.watcher.post(f"/v1/templates/{tid}/{step}", body)
        assert r.status_code == 200, r.text
        return Template.model_validate(r.json())

    def queue(self, psbt: PSBT, withdrawal_ids: list[str]) -> str:
        """Post a PSBT made by hand (no node) as a template; returns its id."""
        payload, txid = encode(psbt)
        r = self.post_template(payload, txid, withdrawal_ids)
        assert r.status_code == 200, r.text
        return str(r.json()["id"])


@pytest.fixture
def steps(api: Api) -> Steps:
    """The other roles' steps against the coordinator under test."""
    return Steps(api)


@dataclass
class Deployment(Steps):
    """A signer with a fresh keystore and its loop polling the real coordinator, beside the
    other roles' steps."""

    signer: TemplateSigner
    loop: SignerLoop


@pytest.fixture
def deployment(tmp_path: Path, api: Api, coordinator_url: str) -> Iterator[Deployment]:
    """A signer with a new mnemonic whose loop talks to the served coordinator."""
    store = tmp_path / "keystore.json"
    keystore.create(store, keystore.new_mnemonic(), "integration passphrase", scrypt_n=2**10)
    keys = KeyRing(keystore.unlock(store, "integration passphrase").seed)
    policy = load_policy(write_policy(tmp_path, max_fee_rate=1000))
    settings = SignerSettings(pool_target=4, change_pool_target=2)
    with (
        Journal(tmp_path / "journal.jsonl") as journal,
        CoordinatorClient(coordinator_url, api.tokens[Role.SIGNER]) as client,
    ):
        signer = TemplateSigner(policy, keys, journal)
        yield Deployment(api, signer, SignerLoop(signer, client, settings))
