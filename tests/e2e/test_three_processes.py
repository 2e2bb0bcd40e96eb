"""End to end: coordinator, signer and watcher as separate OS processes around a regtest node.

The coordinator serves its API from a SQLite file; the signer polls it with its own keystore;
the watcher talks to litecoind and to the coordinator. The test plays the exchange (over HTTP,
with the exchange token) and the outside world (the node's miner wallet).

Twenty users get deposit addresses and are paid; their deposits are credited. They ask for
thirty withdrawals to outside addresses; halfway through, the watcher is killed with SIGKILL
and started again. Every withdrawal is paid once, and at the end everything agrees: each
balance is its deposits minus its withdrawals and fees, each destination received its amount,
and the node's view of our coins equals the ledger (what users hold plus the fees we charged,
minus the network fees we paid).
"""

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from custody.contract.amounts import to_decimal_string
from custody.contract.intent import public_key_hex
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.auth import Role, create_token
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.migrate import upgrade
from tests.integration.watcher.stack import LTC, WatchNode
from tests.support.keys import EXCHANGE, OPERATORS, signed_intent
from tests.support.litecoind import free_port
from tests.support.signer_templates import write_policy
from tests.support.wait import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.litecoind]

USERS = 20
WITHDRAWALS = 30
FEE = 1000  # the config's withdrawal fee
PASSPHRASE = "end to end passphrase"


@dataclass
class Process:
    """A child process with its output in a file (shown when the test fails)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as a crash."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def tail(self) -> str:
        return f"--- {self.name} ---\n" + "\n".join(self.log.read_text().splitlines()[-40:])


@dataclass
class World:
    node: WatchNode
    base: str
    tokens: dict[str, str]
    watcher: Process
    processes: list[Process] = field(default_factory=list)

    def exchange(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens['exchange']}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def operator(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens['operator']}"}
        response = httpx.get(self.base + path, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def _config(node: WatchNode, wallet: str) -> str:
    user, password = node.credentials
    operators = ", ".join(
        f'{{ name = "op{i}", public_key = "{public_key_hex(k)}" }}' for i, k in enumerate(OPERATORS)
    )
    return f"""
exchange_public_key = "{public_key_hex(EXCHANGE)}"
operators = [{operators}]

[[currencies]]
code = "LTC"
family = "bitcoin"
network = "ltc-regtest"
decimals = 8
confirmations = 3
withdrawal_fee = {FEE}
auto_approve_limit = "100000000"

[currencies.node]
url = "{node.url}"
user = "{user}"
password = "{password}"
wallet = "{wallet}"
fee_floor = 1
fee_cap = 20
fallback_fee = 2
rpc_retries = 3
rpc_backoff = 0.1
"""


def _tokens(database_url: str) -> dict[str, str]:
    """One token per role, written straight into the database (`custody coordinator token
    create` does the same, one slow process start per role)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return {role.value: create_token(session, role, f"e2e-{role.value}") for role in Role}
    finally:
        engine.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with WatchNode() as node:
        node.create_wallet("miner")
        node.mine(101)
        config = tmp_path / "custody.toml"
        config.write_text(_config(node, "custody-e2e"))
        port = free_port()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
        database_url = f"sqlite:///{tmp_path / 'custody.sqlite3'}"
        coordinator_env = {
            **base_env,
            "CUSTODY_DATABASE_URL": database_url,
            "CUSTODY_CONFIG_FILE": str(config),
            "CUSTODY_PORT": str(port),
        }
        tokens = _tokens(database_url)
        base = f"http://127.0.0.1:{port}"
        coordinator = Process(
            "coordinator",
            _python("custody", "coordinator", "serve"),
            coordinator_env,
            tmp_path / "coordinator.log",
        ).start()
        signer = _start_signer(tmp_path, base_env, base, tokens["signer"])
        watcher = Process(
            "watcher",
            _python("custody.watcher", "run"),
            {
                **base_env,
                "CUSTODY_WATCHER_COORDINATOR_URL": base,
                "CUSTODY_WATCHER_TOKEN": tokens["watcher"],
                "CUSTODY_WATCHER_CONFIG_FILE": str(config),
                "CUSTODY_WATCHER_POLL_INTERVAL": "0.2",
                "CUSTODY_WATCHER_MAX_BACKOFF": "1",
            },
            tmp_path / "watcher.log",
        )
        world = World(node, base, tokens, watcher, [coordinator, signer, watcher])
        try:
            wait_until(lambda: _healthy(base), timeout=60)
            watcher.start()
            yield world
        except BaseException:
            for process in world.processes:
                print(process.tail())
            raise
        finally:
            for process in reversed(world.processes):
                process.stop()
            (tmp_path / "logs").mkdir()
            for process in world.processes:
                process.log.rename(tmp_path / "logs" / process.log.name)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _start_signer(tmp_path: Path, base_env: dict[str, str], base: str, token: str) -> Process:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE)
    env = {
        **base_env,
        "CUSTODY_SIGNER_KEYSTORE": str(tmp_path / "keystore.json"),
        "CUSTODY_SIGNER_POLICY": str(write_policy(tmp_path, max_fee_rate=50)),
        "CUSTODY_SIGNER_JOURNAL": str(tmp_path / "journal.jsonl"),
        "CUSTODY_SIGNER_PASSPHRASE_FILE": str(passphrase),
        "CUSTODY_SIGNER_COORDINATOR_URL": base,
        "CUSTODY_SIGNER_TOKEN": token,
        "CUSTODY_SIGNER_POLL_INTERVAL": "0.2",
        "CUSTODY_SIGNER_POOL_TARGET": "25",
        "CUSTODY_SIGNER_CHANGE_POOL_TARGET": "5",
    }
    subprocess.run(
        _python("custody.signer", "init", "--scrypt-n", "1024"),
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return Process("signer", _python("custody.signer", "run"), env, tmp_path / "signer.log").start()


def _deposit_address(world: World, user: str) -> str | None:
    r = world.exchange("POST", "/v1/deposit-addresses", json={"user_id": user, "currency": "LTC"})
    return str(r.json()["address"]) if r.status_code == 200 else None


def _balance(world: World, user: str) -> tuple[int, int]:
    r = world.exchange("GET", f"/v1/balances/{user}")
    rows = [b for b in r.json() if b["currency"] == "LTC"]
    return (int(rows[0]["available"]), int(rows[0]["held"])) if rows else (0, 0)


def _sats(value: Any) -> int:
    return int(Decimal(str(value)) * LTC)


def _mine_while_waiting(world: World, done: Any) -> Any:
    """A predicate for wait_until that also mines one block each time: the world goes on."""

    def step() -> bool:
        world.node.mine(1)
        return bool(done())

    return step


def test_twenty_deposits_thirty_withdrawals_everything_agrees(world: World) -> None:
    rng = random.Random(7)
    users = [f"user{i:02d}" for i in range(USERS)]

    # Deposits: addresses come from the pool the signer fills.
    addresses: dict[str, str] = {}

    def everyone_has_an_address() -> bool:
        for user in users:
            if user not in addresses:
                found = _deposit_address(world, user)
                if found is None:
                    return False  # the pool is still being filled
                addresses[user] = found
        return True

    wait_until(everyone_has_an_address, timeout=60)
    deposits = {u: rng.randrange(LTC, 2 * LTC) for u in users}
    payments = {addresses[u]: to_decimal_string(deposits[u], 8) for u in users}
    for chunk in (dict(list(payments.items())[:10]), dict(list(payments.items())[10:])):
        world.node.rpc("sendmany", "", chunk, wallet="miner")
    world.node.mine(3)
    wait_until(lambda: all(_balance(world, u) == (deposits[u], 0) for u in users), timeout=60)

    # Thirty withdrawals; the watcher is killed while they are being processed.
    withdrawals: dict[str, tuple[str, int, str]] = {}
    for n in range(WITHDRAWALS):
        user = users[n % USERS]
        amount = rng.randrange(LTC // 100, LTC // 3)
        destination = str(world.node.rpc("getnewaddress", "", "bech32", wallet="miner"))
        intent = WithdrawalIntent(
            request_id=f"e2e-{n}",
            user_id=user,
            currency="LTC",
            amount=amount,
            destination=destination,
        )
        r = world.exchange("POST", "/v1/withdrawals", json=signed_intent(intent))
        assert r.status_code == 200, r.text
        withdrawals[r.json()["id"]] = (user, amount, destination)
        if n == WITHDRAWALS // 2:
            world.watcher.kill()
            world.watcher.start()

    def all_confirmed() -> bool:
        states = {
            world.exchange("GET", f"/v1/withdrawals/{w}").json()["state"] for w in withdrawals
        }
        return states == {"confirmed"}

    wait_until(_mine_while_waiting(world, all_confirmed), timeout=120, interval=0.3)

    # Every balance: deposits minus withdrawals and fees; nothing held.
    spent = {u: 0 for u in users}
    for user, amount, _ in withdrawals.values():
        spent[user] += amount + FEE
    for user in users:
        assert _balance(world, user) == (deposits[user] - spent[user], 0), user

    # Each destination received its amount, once.
    for _, amount, destination in withdrawals.values():
        received = world.node.rpc("getreceivedbyaddress", destination, 0, wallet="miner")
        assert _sats(received) == amount, destination

    # Each deposit was credited once.
    rows = world.exchange("GET", "/v1/deposits", params={"currency": "LTC", "limit": 1000}).json()
    assert len(rows) == USERS and {(d["state"], d["credit_count"]) for d in rows} == {
        ("credited", 1)
    }

    # The node's view of our coins agrees with the ledger.
    templates = world.operator("/v1/templates?currency=LTC&limit=500")
    assert {t["status"] for t in templates} == {"confirmed"}
    wallet = "custody-e2e"
    network_fees = sum(
        -_sats(world.node.rpc("gettransaction", t["txid"], True, wallet=wallet)["fee"])
        for t in templates
    )
    coins = world.node.rpc("listunspent", 0, 9_999_999, [], True, wallet=wallet)
    held_by_users = sum(_balance(world, u)[0] for u in users)
    fees_charged = FEE * WITHDRAWALS
    assert sum(_sats(c["amount"]) for c in coins) == held_by_users + fees_charged - network_fees
    assert world.node.rpc("listlockunspent", wallet=wallet) == []
    print(json.dumps({"templates": len(templates), "network_fees": network_fees}))
