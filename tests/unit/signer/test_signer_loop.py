"""The polling loop: pool top-up, signing, refusals, bad tokens and outages against the real
coordinator (served over loopback HTTP on SQLite); answers the real coordinator does not give in
normal operation (a pool with holes, another network, a 409 race, garbage) from the fake one."""

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custody.chains.bitcoin import network, p2wpkh_address
from custody.contract.addresses import AddressBranch
from custody.contract.currencies import Currency
from custody.contract.templates import SignedTransaction, Template, TemplateStatus
from custody.coordinator.auth import Role
from custody.coordinator.runtime import Runtime
from custody.signer.client import CoordinatorClient
from custody.signer.errors import CoordinatorError
from custody.signer.loop import SignerLoop
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner
from tests.support.api import Api
from tests.support.fake_coordinator import LTC, FakeCoordinator
from tests.support.server import serve
from tests.support.signer_templates import (
    BOB_SCRIPT,
    ONE,
    Case,
    Out,
    encode,
    path,
    pubkey,
    standard_case,
)
from tests.support.wait import wait_until

URL = "http://coordinator.test"


class Recorder(httpx.BaseTransport):
    """Real HTTP that also keeps every request the signer sent (method, path, body, headers)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[tuple[str, str, bytes, httpx.Headers]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path, request.read(), request.headers))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def posts(self, path_: str) -> list[bytes]:
        return [body for method, p, body, _ in self.requests if method == "POST" and p == path_]


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the loop's behaviour does not depend on the coordinator's database."""
    target = tmp_path / "coordinator.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def coordinator(runtime: Runtime) -> Iterator[str]:
    """The real coordinator's URL."""
    with serve(runtime) as url:
        yield url


@pytest.fixture
def settings() -> SignerSettings:
    return SignerSettings(pool_target=5, change_pool_target=2, poll_interval=0.01,
                          coordinator_url=URL, token="signer-token")  # type: ignore[arg-type]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(coordinator: str, api: Api, recorder: Recorder) -> Iterator[CoordinatorClient]:
    with CoordinatorClient(coordinator, api.tokens[Role.SIGNER], transport=recorder) as c:
        yield c


@pytest.fixture
def loop(signer: TemplateSigner, client: CoordinatorClient, settings: SignerSettings) -> SignerLoop:
    return SignerLoop(signer, client, settings)


def queue(api: Api, case: Case) -> str:
    """Put the case into the coordinator: its user credited, its signed intents requested and
    approved by its operators, its PSBT posted by the watcher. Needs a receive address in the
    pool. Returns the template's id."""
    ids = []
    for n, w in enumerate(case.withdrawals):
        api.credit(w.intent.user_id, w.intent.amount + ONE, txid=f"{n:02x}" * 32)
        r = api.withdraw(w.intent)
        assert r.status_code == 200, r.text
        for a in w.approvals:
            r = api.operator.post(f"/v1/withdrawals/{r.json()['id']}/approvals", a.model_dump())
            assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved", r.text
        ids.append(r.json()["id"])
    payload, txid = encode(case.psbt())
    body = {"currency": "LTC", "kind": "withdrawal", "withdrawal_ids": ids, "payload": payload,
            "txid": txid}
    r = api.watcher.post("/v1/templates", body)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def template(api: Api, tid: str) -> Template:
    return Template.model_validate(api.signer.get(f"/v1/templates/{tid}").json())


def test_pool_is_filled_to_target_on_both_branches(loop: SignerLoop, api: Api) -> None:
    assert loop.run_once().added == 7
    pool = api.watcher.get("/v1/addresses", currency="LTC").json()
    by_branch = {
        b: sorted((a for a in pool if a["branch"] == b), key=lambda a: a["derivation_path"])
        for b in (AddressBranch.RECEIVE, AddressBranch.CHANGE)
    }
    assert [a["derivation_path"] for a in by_branch[AddressBranch.RECEIVE]] == [
        path(0, i) for i in range(5)
    ]
    assert [a["derivation_path"] for a in by_branch[AddressBranch.CHANGE]] == [
        path(1, 0), path(1, 1)
    ]
    for entry in pool:
        key = pubkey(entry["derivation_path"])  # embit's derivation, not ours
        assert entry["public_key"] == key.hex() and entry["fingerprint"] == "73c5da0a"
        assert entry["address"] == p2wpkh_address(network("ltc-regtest"), key)
        assert entry["currency"] == "LTC"


def test_full_pool_gets_no_posts(loop: SignerLoop, recorder: Recorder) -> None:
    loop.run_once()
    before = len(recorder.posts("/v1/addresses"))
    assert loop.run_once().added == 0
    assert len(recorder.posts("/v1/addresses")) == before


def test_unsigned_templates_are_signed_and_posted(
    loop: SignerLoop, api: Api, recorder: Recorder
) -> None:
    loop.run_once()  # the pool: the user needs a deposit address to be credited
    tid = queue(api, standard_case())
    report = loop.run_once()
    assert (report.signed, report.refused) == (1, 0)
    answered = template(api, tid)
    assert answered.status is TemplateStatus.SIGNED and answered.signed_payload
    [body] = recorder.posts(f"/v1/templates/{tid}/signature")
    assert SignedTransaction.model_validate_json(body).txid == answered.txid


def test_refusal_is_reported_with_its_code(loop: SignerLoop, api: Api) -> None:
    loop.run_once()
    case = standard_case()
    case.outputs[0] = Out(BOB_SCRIPT, case.outputs[0].value)
    tid = queue(api, case)
    assert loop.run_once().refused == 1
    answered = template(api, tid)
    assert answered.status is TemplateStatus.REJECTED and answered.rejection is not None
    assert answered.rejection.code == "output_unexpected"
    assert "no intent, not change" in answered.rejection.reason
    assert answered.withdrawals[0].failure_code == "signer_refused:output_unexpected"


def test_bad_token_is_a_coordinator_error(
    signer: TemplateSigner, settings: SignerSettings, coordinator: str
) -> None:
    with CoordinatorClient(coordinator, "another") as client:
        with pytest.raises(CoordinatorError) as error:
            SignerLoop(signer, client, settings).run_once()
    assert error.value.status == 401 and error.value.code == "unauthenticated"


def test_unreachable_coordinator_is_retried(signer: TemplateSigner, settings: SignerSettings) -> None:
    # A bound socket that never listens: every connection to it is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        recorder = Recorder()
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with CoordinatorClient(url, "t", transport=recorder) as client:
            loop = SignerLoop(signer, client, settings)
            stop = threading.Event()
            worker = threading.Thread(target=loop.run, args=(stop,))
            worker.start()
            wait_until(lambda: len(recorder.requests) >= 3, timeout=10)
            stop.set()
            worker.join(timeout=10)
    assert not worker.is_alive()


def test_posts_carry_a_stable_idempotency_key(
    loop: SignerLoop, signer: TemplateSigner, client: CoordinatorClient, api: Api,
    recorder: Recorder,
) -> None:
    loop.run_once()
    tid = queue(api, standard_case())
    signed = signer.sign(template(api, tid))
    first = client.post_signature(tid, signed)
    again = client.post_signature(tid, signed)
    keys = [h["idempotency-key"] for m, p, _, h in recorder.requests if p.endswith("/signature")]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert first is not None and first == again  # the coordinator's first answer, replayed


# Answers the real coordinator does not give in normal operation -----------------------------


@pytest.fixture
def fake() -> FakeCoordinator:
    return FakeCoordinator()


@pytest.fixture
def fake_loop(
    signer: TemplateSigner, fake: FakeCoordinator, settings: SignerSettings
) -> Iterator[SignerLoop]:
    with CoordinatorClient(URL, fake.token, transport=fake.transport()) as client:
        yield SignerLoop(signer, client, settings)


def test_pool_with_holes_is_refilled_past_them(
    fake_loop: SignerLoop, fake: FakeCoordinator
) -> None:
    fake_loop.run_once()
    for address in [a.address for a in fake.pool.values() if a.derivation_path == path(0, 1)]:
        del fake.pool[address]  # total drops to 4: indexes 4.. are posted again, then 5 is new
    assert fake_loop.run_once().added == 1
    assert sorted(a.derivation_path for a in fake.pool.values() if a.branch == "receive") == [
        path(0, i) for i in (0, 2, 3, 4, 5)
    ]


def test_currency_on_another_network_is_not_served(
    fake_loop: SignerLoop, fake: FakeCoordinator
) -> None:
    fake.currencies = [Currency(**{**LTC.model_dump(), "network": "ltc-main"})]
    fake.add(standard_case().template())
    report = fake_loop.run_once()
    assert report.added == 0 and not fake.pool
    rejection = fake.templates["tpl-1"].rejection
    assert rejection is not None and rejection.code == "network_mismatch"


def test_conflict_answer_is_logged_not_fatal(
    signer: TemplateSigner, settings: SignerSettings, fake: FakeCoordinator
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/signature"):
            return httpx.Response(409, json={"error": {"code": "conflict", "message": "taken"}})
        return fake.handle(request)

    fake.add(standard_case().template())
    with CoordinatorClient(URL, fake.token, transport=httpx.MockTransport(handler)) as client:
        report = SignerLoop(signer, client, settings).run_once()
    assert (report.signed, report.conflicts) == (1, 1)


def test_garbage_answer_is_a_coordinator_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"not": "a list"}))
    with CoordinatorClient(URL, "t", transport=transport) as client:
        with pytest.raises(CoordinatorError, match="unexpected answer"):
            client.currencies()
