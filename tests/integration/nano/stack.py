"""The Nano test world: the test peer, the coordinator over real HTTP, the signer, the watcher.

The peer (testnodes/nano) holds a real ledger and answers with the node's texts; the coordinator
runs on a SQLite file served by uvicorn; the signer and the watcher talk to it over loopback HTTP
as in production. Confirmation delay 0: a block confirms at the peer's next call, unless a test
holds it. "Killing" the watcher throws the object away and builds a new one.
"""

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from custody.contract.intent import public_key_hex
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.auth import Role
from custody.coordinator.config import CoordinatorConfig, parse_config
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from custody.signer.client import CoordinatorClient as SignerClient
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.loop import SignerLoop
from custody.signer.policy import load_policy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner
from custody.watcher.chains.base import CrashPoint, Probe
from custody.watcher.chains.nano import NanoWatcher
from custody.watcher.chains.nano_rpc import NanoRpc
from custody.watcher.chains.nano_settings import NanoNodeConfig, NanoWatched
from custody.watcher.client import CoordinatorClient
from custody.watcher.loop import CurrencyLoop, RoundReport
from testnodes.nano import codec
from testnodes.nano.server import RunningPeer, start_peer
from tests.support.api import Api
from tests.support.keys import EXCHANGE, OPERATORS, approval, signed_intent
from tests.support.server import serve
from tests.unit.nano.nano_templates import REPRESENTATIVE, SEED, XNO, write_nano_policy

FEE = 1000  # raw, the coordinator's withdrawal fee for XNO


def nano_config() -> CoordinatorConfig:
    """XNO on the dev network: up to 1 XNO approved automatically, above that one operator."""
    return parse_config(
        {
            "exchange_public_key": public_key_hex(EXCHANGE),
            "operators": [
                {"name": f"op{i}", "public_key": public_key_hex(k)} for i, k in enumerate(OPERATORS)
            ],
            "currencies": [
                {
                    "code": "XNO",
                    "family": "nano",
                    "network": "nano-dev",
                    "decimals": 30,
                    "confirmations": 1,
                    "withdrawal_fee": str(FEE),
                    "auto_approve_limit": str(XNO),
                    "approval_tiers": [{"above": str(XNO), "required": 1}],
                }
            ],
        }
    )


class Crash(BaseException):
    """The watcher process dies here (not an Exception: the loop must not catch it)."""


def crash_at(point: CrashPoint, times: int = 1) -> Probe:
    """A probe that kills the watcher the first `times` times it passes `point`."""
    left = [times]

    def probe(at: CrashPoint) -> None:
        if at is point and left[0] > 0:
            left[0] -= 1
            raise Crash(str(at))

    return probe


class Recorder(httpx.BaseTransport):
    """The watcher's line to the node: every request and answer kept (a lost reply is kept as
    None), so a test can show what the node said and that retries sent the same bytes."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        try:
            response = self.inner.handle_request(request)
            response.read()
        except httpx.TransportError:
            self.calls.append((body, None))
            raise
        self.calls.append((body, response.json()))
        return response

    def process_calls(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Every `process` request and its answer, in order."""
        return [(q, a) for q, a in self.calls if q["action"] == "process"]

    def close(self) -> None:
        """Kept open across watcher restarts; the stack closes `inner` at the end."""


def link_of(address: str) -> str:
    """The `link` field of a send to `address`."""
    return codec.hex_upper(codec.account_decode(address))


class PeerRpc:
    """The test's own line to the peer (node actions and peer_* controls)."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=30)

    def __call__(self, action: str, **params: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.post("/", json={"action": action, **params}).json()
        return answer


@dataclass
class Stack:
    """Everything one scenario needs."""

    peer: RunningPeer
    api: Api
    url: str
    signer: SignerLoop
    watched: NanoWatched
    rpc: PeerRpc
    node_transport: "Recorder" = field(default_factory=lambda: Recorder())
    loop: CurrencyLoop = field(init=False)
    clients: list[CoordinatorClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = self.watcher_loop()

    @property
    def watcher(self) -> NanoWatcher:
        """The current watcher instance."""
        watcher = self.loop.watcher
        assert isinstance(watcher, NanoWatcher)
        return watcher

    def watcher_loop(self, probe: Probe | None = None) -> CurrencyLoop:
        """A brand-new watcher, as after a process start; its node calls go through
        `self.node_transport` (recorded)."""
        client = CoordinatorClient(self.url, self.api.tokens[Role.WATCHER], timeout=30)
        self.clients.append(client)
        rpc = NanoRpc(self.watched.node, transport=self.node_transport, sleep=lambda _: None)
        return CurrencyLoop(NanoWatcher(self.watched, client, probe, rpc), 0.05, 0.1)

    def restart_watcher(self, probe: Probe | None = None) -> None:
        """Kill the watcher (drop the object) and start a new one."""
        self.loop.watcher.close()
        self.loop = self.watcher_loop(probe)

    def round(self) -> RoundReport:
        """One watcher round; a step that failed is a test failure unless expected."""
        return self.loop.run_once()

    def sign(self) -> int:
        """One signer pass; returns how many templates it signed (none may be refused)."""
        report = self.signer.run_once()
        assert report.refused == 0, "the signer refused a template"
        return report.signed

    def cycle(self) -> RoundReport:
        """Watcher round, then signer pass."""
        report = self.round()
        assert report.ok, report
        self.sign()
        return report

    def run_until(self, done: Callable[[], object], cycles: int = 60) -> None:
        """Cycle until `done()` holds (no sleeping: every cycle is real work)."""
        for _ in range(cycles):
            if done():
                return
            self.cycle()
        assert done(), f"not done after {cycles} cycles"

    def crash_round(self, probe: Probe | None = None) -> bool:
        """One round that may die at the probe's point: then the watcher starts again (with
        `probe`, if given) and the signer takes its pass. True if it died."""
        try:
            self.round()
        except Crash:
            self.restart_watcher(probe)
            self.sign()
            return True
        self.sign()
        return False

    def fund_user(self, user: str, amount: int) -> None:
        """`user` deposits `amount`; it is credited, pocketed, swept and received on the hot
        account, all confirmed."""
        hot = self.hot()
        before = int(self.account(hot).get("confirmed_balance", 0))
        self.fund(self.address(user), amount)
        self.run_until(
            lambda: int(self.account(hot).get("confirmed_balance", 0)) == before + amount
        )

    # the exchange, the peer and the ledger ------------------------------------------------

    def address(self, user: str) -> str:
        """The user's deposit account."""
        return self.api.deposit_address(user, "XNO")

    def fund(self, account: str, amount: int) -> str:
        """A send from the peer's genesis to `account`; its hash."""
        answer = self.rpc("peer_fund", account=account, amount=str(amount))
        assert "hash" in answer, answer
        return str(answer["hash"])

    def hold(self, hashes: list[str] | None = None, hold: bool = True) -> None:
        """Hold (or release) confirmations: all of them, or those of `hashes`."""
        params: dict[str, Any] = {"hold": hold}
        if hashes is not None:
            params["hashes"] = hashes
        assert "error" not in self.rpc("peer_hold_confirmations", **params)

    def withdraw(self, user: str, amount: int, destination: str, request_id: str) -> str:
        """The exchange requests a withdrawal (approved by an operator above 1 XNO)."""
        intent = WithdrawalIntent(
            request_id=request_id,
            user_id=user,
            currency="XNO",
            amount=amount,
            destination=destination,
        )
        r = self.api.exchange.post("/v1/withdrawals", signed_intent(intent))
        assert r.status_code == 200, r.text
        wid = str(r.json()["id"])
        if amount > XNO:
            r = self.api.operator.post(f"/v1/withdrawals/{wid}/approvals", approval(intent))
            assert r.status_code == 200, r.text
        return wid

    def withdrawal(self, wid: str) -> dict[str, Any]:
        """One withdrawal as the exchange sees it."""
        r = self.api.exchange.get(f"/v1/withdrawals/{wid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def deposits(self) -> list[dict[str, Any]]:
        """Every XNO deposit."""
        r = self.api.exchange.get("/v1/deposits", currency="XNO", limit=1000)
        assert r.status_code == 200, r.text
        return list(r.json())

    def balance(self, user: str) -> tuple[int, int]:
        """(available, held) of the user in raw."""
        r = self.api.exchange.get(f"/v1/balances/{user}")
        assert r.status_code == 200, r.text
        rows = [b for b in r.json() if b["currency"] == "XNO"]
        return (int(rows[0]["available"]), int(rows[0]["held"])) if rows else (0, 0)

    def templates(self, status: str | None = None) -> list[dict[str, Any]]:
        """XNO templates (watcher's view)."""
        params: dict[str, Any] = {"currency": "XNO", "limit": 500}
        if status is not None:
            params["status"] = status
        r = self.api.watcher.get("/v1/templates", **params)
        assert r.status_code == 200, r.text
        return list(r.json())

    def account(self, address: str) -> dict[str, Any]:
        """account_info at the peer (confirmed fields included)."""
        return self.rpc(
            "account_info", account=address, include_confirmed=True, representative=True
        )

    def sends_to(self, destination: str) -> dict[str, int]:
        """Every send to `destination` (confirmed or not): hash → amount. The destinations in
        these tests never receive, so each payment stays listed."""
        answer = self.rpc(
            "receivable", account=destination, threshold="1", include_only_confirmed=False
        )
        blocks = answer["blocks"]
        return {} if blocks == "" else {h: int(a) for h, a in blocks.items()}

    def hot(self) -> str:
        """The hot account (the pool's hot branch)."""
        r = self.api.watcher.get("/v1/addresses", currency="XNO", limit=1000)
        hot = [a["address"] for a in r.json() if a["branch"] == "hot"]
        assert len(hot) == 1, hot
        return str(hot[0])


@contextmanager
def build_stack(tmp_path: Path, sqlite_template: Path, pool_target: int = 4) -> Iterator[Stack]:
    """Peer, coordinator (SQLite, served), signer (test seed) and watcher for one scenario."""
    db = tmp_path / "custody.sqlite3"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    settings = CoordinatorSettings(
        database_url=f"sqlite:///{db}", migrate_on_start=False, max_body_bytes=4 * 1024 * 1024
    )
    runtime = Runtime(
        settings=settings, config=nano_config(), engine=engine, sessions=make_sessionmaker(engine)
    )
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        peer = stack.enter_context(start_peer())
        api = Api(
            runtime,
            stack.enter_context(TestClient(create_app(runtime), raise_server_exceptions=False)),
        )
        url = stack.enter_context(serve(runtime))
        signer = _signer(stack, tmp_path, url, api.tokens[Role.SIGNER], pool_target)
        node = NanoNodeConfig(
            url=peer.url,
            representative=REPRESENTATIVE,
            rpc_retries=2,
            rpc_backoff=0.01,
            rpc_timeout=10,
        )
        watched = NanoWatched(code="XNO", family="nano", network="nano-dev", node=node)
        rpc = PeerRpc(peer.url)
        stack.callback(rpc.http.close)
        world = Stack(peer=peer, api=api, url=url, signer=signer, watched=watched, rpc=rpc)
        stack.callback(lambda: [c.close() for c in world.clients])
        stack.callback(lambda: world.loop.watcher.close())
        stack.callback(world.node_transport.inner.close)
        world.sign()  # the signer fills the pool: deposit accounts and the hot account
        yield world


def _signer(stack: ExitStack, tmp_path: Path, url: str, token: str, target: int) -> SignerLoop:
    policy = load_policy(write_nano_policy(tmp_path))
    journal = stack.enter_context(Journal(tmp_path / "journal.jsonl"))
    client = stack.enter_context(SignerClient(url, token))
    settings = SignerSettings(pool_target=target, change_pool_target=0)
    return SignerLoop(TemplateSigner(policy, KeyRing(SEED), journal), client, settings)
