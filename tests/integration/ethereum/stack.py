"""The Ethereum test world: anvil, the test token, the coordinator over HTTP, the signer, watchers.

The coordinator runs on a SQLite file with ETH and the token TKN (its contract deployed on this
anvil), served by uvicorn in a thread; the signer and both watchers talk to it over loopback
HTTP as in production. The exchange and the operators act through the in-process test client.
"Restarting" a watcher throws the object away and builds a new one: it holds nothing else.
"""

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from custody.contract.intent import public_key_hex
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.auth import Role
from custody.coordinator.config import CoordinatorConfig, parse_config
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from custody.signer import keystore
from custody.signer.client import CoordinatorClient as SignerClient
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.loop import LoopReport, SignerLoop
from custody.signer.policy import load_policy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner
from custody.watcher.chains.base import Probe
from custody.watcher.chains.ethereum import EthereumWatcher
from custody.watcher.chains.ethereum_rpc import EthRpc
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig, EthereumWatched
from custody.watcher.client import CoordinatorClient
from custody.watcher.loop import CurrencyLoop, RoundReport
from tests.support.anvil import ETHER, GWEI, AnvilNode
from tests.support.api import Api
from tests.support.keys import EXCHANGE, OPERATORS, signed_intent
from tests.support.server import serve
from tests.unit.ethereum.helpers import write_policy

PASSPHRASE = "ethereum integration passphrase"
TKN = 10**6  # base units per TKN (6 decimals)
CODES = ("ETH", "TKN")


def coordinator_config(token: str) -> CoordinatorConfig:
    """ETH (2 confirmations) and TKN (3) on anvil; withdrawals auto-approved up to 50 ETH."""
    return parse_config(
        {
            "exchange_public_key": public_key_hex(EXCHANGE),
            "operators": [
                {"name": f"op{i}", "public_key": public_key_hex(k)} for i, k in enumerate(OPERATORS)
            ],
            "currencies": [
                {
                    "code": "ETH",
                    "family": "ethereum",
                    "network": "eth-anvil",
                    "decimals": 18,
                    "confirmations": 2,
                    "withdrawal_fee": "1000",
                    "auto_approve_limit": str(50 * ETHER),
                },
                {
                    "code": "TKN",
                    "family": "ethereum",
                    "network": "eth-anvil",
                    "decimals": 6,
                    "confirmations": 3,
                    "withdrawal_fee": "10",
                    "auto_approve_limit": str(10**12),
                    "token_contract": token,
                },
            ],
        }
    )


def node_config(anvil: AnvilNode, **overrides: Any) -> EthereumNodeConfig:
    """The watcher's node table for this anvil, scanning from its current head."""
    values: dict[str, Any] = {
        "url": anvil.url,
        "start_block": anvil.head(),
        "rpc_retries": 2,
        "rpc_backoff": 0.01,
        "scan_batch": 20,
        "reorg_window": 16,
        "max_fee_per_gas": 100 * GWEI,
        "replace_after": 3600,
        "topup_retry_after": 3600,
    }
    values.update(overrides)
    return EthereumNodeConfig(**values)


@dataclass
class EthStack:
    """Everything one scenario needs."""

    anvil: AnvilNode
    token: str
    api: Api
    url: str
    signer: SignerLoop
    keys: KeyRing
    watched: dict[str, EthereumWatched]
    loops: dict[str, CurrencyLoop] = field(default_factory=dict)
    clients: list[CoordinatorClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        for code in CODES:
            self.loops[code] = self.watcher_loop(code)

    def watcher(self, code: str = "ETH") -> EthereumWatcher:
        """The current watcher of `code`."""
        watcher = self.loops[code].watcher
        assert isinstance(watcher, EthereumWatcher)
        return watcher

    def watcher_loop(
        self, code: str, probe: Probe | None = None, rpc: EthRpc | None = None
    ) -> CurrencyLoop:
        """A brand-new watcher, as after a process start."""
        client = CoordinatorClient(self.url, self.api.tokens[Role.WATCHER], timeout=30)
        self.clients.append(client)
        watcher = EthereumWatcher(self.watched[code], client, probe, rpc)
        return CurrencyLoop(watcher, poll_interval=0.05, max_backoff=0.1)

    def restart_watcher(
        self, code: str = "ETH", probe: Probe | None = None, rpc: EthRpc | None = None
    ) -> None:
        """Kill the watcher (drop the object) and start a new one."""
        self.loops[code].watcher.close()
        self.loops[code] = self.watcher_loop(code, probe, rpc)

    def round(self, code: str = "ETH") -> RoundReport:
        """One watcher round over every step; every step must succeed."""
        report = self.loops[code].run_once()
        assert report.ok, report
        return report

    def sign(self) -> LoopReport:
        """One signer pass (pool top-up and signing)."""
        return self.signer.run_once()

    def cycle(self, code: str = "ETH") -> None:
        """Watcher builds, signer signs, watcher broadcasts."""
        self.round(code)
        report = self.sign()
        assert report.refused == 0, "the signer refused a template"
        self.round(code)

    # the exchange ----------------------------------------------------------------------------

    def address(self, user: str, code: str = "ETH") -> str:
        """The user's deposit address."""
        return self.api.deposit_address(user, code)

    def hot(self, code: str = "ETH") -> str:
        """The hot wallet of `code` as the pool lists it."""
        rows = self.api.watcher.get("/v1/addresses", currency=code, limit=1000).json()
        [hot] = [r["address"] for r in rows if r["branch"] == "hot"]
        return str(hot)

    def deposits(self, code: str = "ETH", state: str | None = None) -> list[dict[str, Any]]:
        """Deposits as the exchange sees them."""
        params: dict[str, Any] = {"currency": code, "limit": 1000}
        if state is not None:
            params["state"] = state
        r = self.api.exchange.get("/v1/deposits", **params)
        assert r.status_code == 200, r.text
        return list(r.json())

    def balance(self, user: str, code: str = "ETH") -> tuple[int, int]:
        """(available, held)."""
        r = self.api.exchange.get(f"/v1/balances/{user}")
        assert r.status_code == 200, r.text
        rows = [b for b in r.json() if b["currency"] == code]
        return (int(rows[0]["available"]), int(rows[0]["held"])) if rows else (0, 0)

    def withdraw(
        self, user: str, amount: int, destination: str, request_id: str, code: str = "ETH"
    ) -> str:
        """The exchange requests a withdrawal; returns its id."""
        intent = WithdrawalIntent(
            request_id=request_id,
            user_id=user,
            currency=code,
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

    def templates(self, code: str = "ETH", status: str | None = None) -> list[dict[str, Any]]:
        """Templates (watcher's view), oldest first."""
        params: dict[str, Any] = {"currency": code, "limit": 500}
        if status is not None:
            params["status"] = status
        r = self.api.watcher.get("/v1/templates", **params)
        assert r.status_code == 200, r.text
        return list(r.json())

    def fund(self, user: str, amount: int, code: str = "ETH") -> None:
        """The user deposits `amount` and the watcher credits it."""
        address = self.address(user, code)
        if code == "ETH":
            self.anvil.send(address, amount, sender=1)
        else:
            self.anvil.token_transfer(self.token, address, amount)
        depth = 2 if code == "ETH" else 3
        self.anvil.mine(depth)
        self.round(code)
        assert self.balance(user, code)[0] >= amount


@contextmanager
def build_stack(
    tmp_path: Path,
    sqlite_template: Path,
    *anvil_args: str,
    pool_target: int = 5,
    **node_overrides: Any,
) -> Iterator[EthStack]:
    """anvil with the token, the coordinator (SQLite, served), the signer and two watchers."""
    with ExitStack() as stack:
        anvil = stack.enter_context(AnvilNode(*anvil_args))
        token = anvil.deploy_token()
        db = tmp_path / "custody.sqlite3"
        shutil.copy(sqlite_template, db)
        engine = make_engine(f"sqlite:///{db}")
        stack.callback(engine.dispose)
        settings = CoordinatorSettings(
            database_url=f"sqlite:///{db}", migrate_on_start=False, max_body_bytes=4 * 1024 * 1024
        )
        runtime = Runtime(
            settings=settings,
            config=coordinator_config(token),
            engine=engine,
            sessions=make_sessionmaker(engine),
        )
        client = stack.enter_context(TestClient(create_app(runtime), raise_server_exceptions=False))
        api = Api(runtime, client)
        url = stack.enter_context(serve(runtime))
        signer, keys = _signer(stack, tmp_path, url, api.tokens[Role.SIGNER], token, pool_target)
        watched = {
            code: EthereumWatched(
                code=code,
                family="ethereum",
                network="eth-anvil",
                node=node_config(anvil, **node_overrides),
            )
            for code in CODES
        }
        world = EthStack(
            anvil=anvil, token=token, api=api, url=url, signer=signer, keys=keys, watched=watched
        )
        stack.callback(lambda: [c.close() for c in world.clients])
        stack.callback(lambda: [loop.watcher.close() for loop in world.loops.values()])
        world.sign()  # the signer fills the pool: deposit addresses and the hot wallets
        yield world


def _signer(
    stack: ExitStack, tmp_path: Path, url: str, token: str, contract: str, pool_target: int
) -> tuple[SignerLoop, KeyRing]:
    store = tmp_path / f"keystore-{secrets.token_hex(4)}.json"
    keystore.create(store, keystore.new_mnemonic(), PASSPHRASE, scrypt_n=2**10)
    keys = KeyRing(keystore.unlock(store, PASSPHRASE).seed)
    policy = load_policy(write_policy(tmp_path, token=contract))
    journal = stack.enter_context(Journal(tmp_path / "journal.jsonl"))
    client = stack.enter_context(SignerClient(url, token))
    settings = SignerSettings(pool_target=pool_target, template_batch=50)
    return SignerLoop(TemplateSigner(policy, keys, journal), client, settings), keys
