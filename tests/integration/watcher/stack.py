"""The watcher's test world: a regtest node, the coordinator over HTTP, the signer, the watcher.

The coordinator runs on a SQLite file and is served by uvicorn in a thread; the signer and the
watcher talk to it over loopback HTTP exactly as in production. The exchange and the operators
are played through the in-process test client. "Restarting" the watcher throws the object away
and builds a new one: it holds nothing else, which is the point of the crash tests.
"""

import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from custody.contract.amounts import to_decimal_string
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.auth import Role
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from custody.signer import keystore
from custody.signer.client import CoordinatorClient as SignerClient
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.loop import SignerLoop
from custody.signer.policy import load_policy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner
from custody.watcher.chains.base import Probe
from custody.watcher.chains.bitcoin import BitcoinWatcher
from custody.watcher.client import CoordinatorClient
from custody.watcher.loop import CurrencyLoop, RoundReport
from custody.watcher.rpc import NodeRpc
from custody.watcher.settings import NodeConfig, WatchedCurrency
from tests.support.api import Api, test_config
from tests.support.keys import signed_intent
from tests.support.litecoind import LitecoinNode, RpcError
from tests.support.server import serve
from tests.support.signer_templates import write_policy

LTC = 100_000_000  # base units per LTC
PASSPHRASE = "watcher integration passphrase"


class WatchNode(LitecoinNode):
    """litecoind that can be stopped and started again on the same datadir."""

    @property
    def credentials(self) -> tuple[str, str]:
        """RPC user and password."""
        return self._auth

    @property
    def url(self) -> str:
        """The RPC base URL."""
        return f"http://127.0.0.1:{self.rpc_port}"

    def halt(self, *, drop_mempool: bool = True) -> None:
        """Stop the node, keeping its datadir; without the mempool file it forgets unconfirmed
        transactions when it starts again."""
        assert self._process is not None
        self.rpc("stop")
        self._process.wait(timeout=60)
        if self._process.stderr is not None:
            self._process.stderr.close()
        if drop_mempool:
            (self.datadir / "regtest" / "mempool.dat").unlink(missing_ok=True)

    def restart(self, *extra: str, drop_mempool: bool = True) -> None:
        """Stop and start again with extra command-line options."""
        self.halt(drop_mempool=drop_mempool)
        self.start_with(*extra)

    def start_with(self, *extra: str) -> None:
        """Start with extra command-line options (the conf file stays as the fixture wrote it)."""
        self._process = subprocess.Popen(
            [
                self.binary,
                f"-datadir={self.datadir}",
                f"-conf={self.datadir / 'litecoin.conf'}",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        from tests.support.wait import wait_until

        wait_until(self._ready, timeout=60)

    def ensure_loaded(self, wallet: str) -> None:
        """Load a wallet after a restart (only watch wallets load themselves)."""
        if wallet not in self.rpc("listwallets"):
            self.rpc("loadwallet", wallet)

    def mine_to(self, blocks: int = 1) -> list[str]:
        """Mine to the miner wallet, loading it first if a restart unloaded it."""
        self.ensure_loaded("miner")
        return self.mine(blocks)


@dataclass
class Stack:
    """Everything one scenario needs."""

    node: WatchNode
    api: Api
    url: str
    signer: SignerLoop
    keys: KeyRing
    watched: WatchedCurrency
    loop: CurrencyLoop = field(init=False)
    clients: list[CoordinatorClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = self.watcher_loop()

    @property
    def watcher(self) -> BitcoinWatcher:
        """The current watcher instance."""
        watcher = self.loop.watcher
        assert isinstance(watcher, BitcoinWatcher)
        return watcher

    def watcher_loop(
        self,
        probe: Probe | None = None,
        *,
        node_transport: httpx.BaseTransport | None = None,
        coordinator_transport: httpx.BaseTransport | None = None,
    ) -> CurrencyLoop:
        """A brand-new watcher, as after a process start (transports: to lose replies)."""
        client = CoordinatorClient(
            self.url, self.api.tokens[Role.WATCHER], timeout=30, transport=coordinator_transport
        )
        self.clients.append(client)
        rpc = NodeRpc(self.watched.node, transport=node_transport)
        watcher = BitcoinWatcher(self.watched, client, probe, rpc)
        return CurrencyLoop(watcher, poll_interval=0.05, max_backoff=0.1)

    def restart_watcher(self, probe: Probe | None = None, **transports: Any) -> None:
        """Kill the watcher (drop the object) and start a new one."""
        self.loop.watcher.close()
        self.loop = self.watcher_loop(probe, **transports)

    def round(self) -> RoundReport:
        """One watcher round over every step."""
        return self.loop.run_once()

    def sign(self) -> int:
        """One signer pass (pool top-up and signing); returns how many it signed."""
        report = self.signer.run_once()
        assert report.refused == 0, "the signer refused a template"
        return report.signed

    def cycle(self) -> None:
        """Watcher builds, signer signs, watcher broadcasts."""
        self.round()
        self.sign()
        self.round()

    # the exchange and the chain ------------------------------------------------------------

    def address(self, user: str) -> str:
        """The user's deposit address."""
        return self.api.deposit_address(user)

    def pay(self, address: str, amount: int) -> str:
        """The miner pays `amount` base units to `address`; returns the txid."""
        self.node.ensure_loaded("miner")
        amount_text = to_decimal_string(amount, 8)
        txid = str(self.node.rpc("sendtoaddress", address, amount_text, wallet="miner"))
        self.settle_mempool()
        return txid

    def pay_many(self, payments: dict[str, int]) -> str:
        """One transaction paying several addresses."""
        amounts = {a: to_decimal_string(v, 8) for a, v in payments.items()}
        txid = str(self.node.rpc("sendmany", "", amounts, wallet="miner"))
        self.settle_mempool()
        return txid

    def settle_mempool(self) -> None:
        """Let every wallet see the new mempool transactions: wallets learn of them from a
        queue, and only a new tip makes listsinceblock wait for it (a round would find them
        a round later; the tests want them now)."""
        self.node.rpc("syncwithvalidationinterfacequeue")

    def mine(self, blocks: int = 1) -> list[str]:
        """Mine blocks."""
        return self.node.mine_to(blocks)

    def outside_address(self) -> str:
        """An address of nobody we know (the miner's)."""
        self.node.ensure_loaded("miner")
        return str(self.node.rpc("getnewaddress", "", "bech32", wallet="miner"))

    def deposits(self, state: str | None = None) -> list[dict[str, Any]]:
        """Deposits as the exchange sees them."""
        params: dict[str, Any] = {"currency": "LTC", "limit": 1000}
        if state is not None:
            params["state"] = state
        r = self.api.exchange.get("/v1/deposits", **params)
        assert r.status_code == 200, r.text
        return list(r.json())

    def deposit(self, txid: str, vout: int | None = None) -> dict[str, Any] | None:
        """The deposit of one output (the only one of the tx if vout is None)."""
        found = [
            d for d in self.deposits() if d["txid"] == txid and vout in (None, d["output_index"])
        ]
        assert len(found) <= 1, found
        return found[0] if found else None

    def balance(self, user: str) -> tuple[int, int]:
        """(available, held)."""
        r = self.api.exchange.get(f"/v1/balances/{user}")
        assert r.status_code == 200, r.text
        rows = [b for b in r.json() if b["currency"] == "LTC"]
        return (int(rows[0]["available"]), int(rows[0]["held"])) if rows else (0, 0)

    def withdraw(self, user: str, amount: int, destination: str, request_id: str) -> str:
        """The exchange requests a withdrawal (auto-approved below 1 LTC); returns its id."""
        intent = WithdrawalIntent(
            request_id=request_id,
            user_id=user,
            currency="LTC",
            amount=amount,
            destination=destination,
        )
        r = self.api.exchange.post("/v1/withdrawals", signed_intent(intent))
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    def withdrawal(self, wid: str) -> dict[str, Any]:
        """One withdrawal."""
        r = self.api.exchange.get(f"/v1/withdrawals/{wid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def templates(self, status: str | None = None) -> list[dict[str, Any]]:
        """Templates (watcher's view)."""
        params: dict[str, Any] = {"currency": "LTC", "limit": 500}
        if status is not None:
            params["status"] = status
        r = self.api.watcher.get("/v1/templates", **params)
        assert r.status_code == 200, r.text
        return list(r.json())

    def fund_users(self, users: Sequence[str], amount: int) -> None:
        """Each user deposits `amount`, deep enough to be credited."""
        self.round()  # import the pool first
        self.pay_many({self.address(u): amount for u in users})
        self.mine(3)
        self.round()
        assert all(self.balance(u)[0] == amount for u in users)

    def received_by(self, address: str) -> int:
        """Base units the chain paid to `address` in confirmed or mempool transactions."""
        total = 0
        wallet = self.watched.node.wallet
        for tx in self.watch_transactions():
            raw = self.node.rpc("gettransaction", tx, True, True, wallet=wallet)["decoded"]
            for out in raw["vout"]:
                script = out["scriptPubKey"]
                if address in (script.get("address"), *script.get("addresses", [])):
                    total += int(Decimal(str(out["value"])) * LTC)
        return total

    def watch_transactions(self) -> list[str]:
        """Every transaction of the watch-only wallet."""
        rows = self.node.rpc(
            "listtransactions", "*", 100_000, 0, True, wallet=self.watched.node.wallet
        )
        return sorted({r["txid"] for r in rows})


def node_config(node: WatchNode, **overrides: Any) -> NodeConfig:
    """The watcher's node table for `node`, with a fresh watch-only wallet."""
    user, password = node.credentials
    values: dict[str, Any] = {
        "url": node.url,
        "user": user,
        "password": password,
        "wallet": f"watch-{uuid.uuid4().hex[:12]}",
        "fee_floor": 1,
        "fee_cap": 50,
        "fallback_fee": 2,
        "rpc_retries": 2,
        "rpc_backoff": 0.05,
        "rpc_timeout": 30,
    }
    values.update(overrides)
    return NodeConfig(**values)


@contextmanager
def build_stack(
    node: WatchNode,
    tmp_path: Path,
    sqlite_template: Path,
    *,
    pool_target: int = 25,
    change_target: int = 5,
    **node_overrides: Any,
) -> Iterator[Stack]:
    """Coordinator (SQLite, served), signer (BIP84 test mnemonic) and watcher for one test."""
    db = tmp_path / "custody.sqlite3"
    shutil.copy(sqlite_template, db)
    url_db = f"sqlite:///{db}"
    engine = make_engine(url_db)
    settings = CoordinatorSettings(
        database_url=url_db, migrate_on_start=False, max_body_bytes=4 * 1024 * 1024
    )
    runtime = Runtime(
        settings=settings, config=test_config(), engine=engine, sessions=make_sessionmaker(engine)
    )
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        client = stack.enter_context(TestClient(create_app(runtime), raise_server_exceptions=False))
        api = Api(runtime, client)
        url = stack.enter_context(serve(runtime))
        signer, keys = _signer(
            stack, tmp_path, url, api.tokens[Role.SIGNER], pool_target, change_target
        )
        watched = WatchedCurrency(
            code="LTC",
            family="bitcoin",
            network="ltc-regtest",
            node=node_config(node, **node_overrides),
        )
        world = Stack(node=node, api=api, url=url, signer=signer, keys=keys, watched=watched)
        stack.callback(lambda: [c.close() for c in world.clients])
        stack.callback(lambda: world.loop.watcher.close())
        world.sign()  # the signer fills the pool
        yield world


def _signer(
    stack: ExitStack, tmp_path: Path, url: str, token: str, pool_target: int, change_target: int
) -> tuple[SignerLoop, KeyRing]:
    store = tmp_path / f"keystore-{secrets.token_hex(4)}.json"
    # A fresh seed per test: addresses never repeat across the scenarios on one node.
    keystore.create(store, keystore.new_mnemonic(), PASSPHRASE, scrypt_n=2**10)
    keys = KeyRing(keystore.unlock(store, PASSPHRASE).seed)
    policy = load_policy(write_policy(tmp_path, max_fee_rate=100))
    journal = stack.enter_context(Journal(tmp_path / "journal.jsonl"))
    client = stack.enter_context(SignerClient(url, token))
    settings = SignerSettings(pool_target=pool_target, change_pool_target=change_target)
    return SignerLoop(TemplateSigner(policy, keys, journal), client, settings), keys


class LossyTransport(httpx.BaseTransport):
    """Delivers requests but loses the replies of those `lose` picks: the server acted, the
    client never hears of it (a timeout at the worst moment)."""

    def __init__(self, lose: Any, inner: httpx.BaseTransport | None = None):
        self.lose = lose
        self.inner = inner or httpx.HTTPTransport()
        self.lost: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if self.lose(request):
            self.lost.append(request.content)
            raise httpx.ReadTimeout("reply lost", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def rpc_error(node: WatchNode, method: str, *params: Any, wallet: str | None = None) -> RpcError:
    """The error a call raises (fails the test if it succeeds)."""
    try:
        node.rpc(method, *params, wallet=wallet)
    except RpcError as e:
        return e
    raise AssertionError(f"{method} succeeded")
