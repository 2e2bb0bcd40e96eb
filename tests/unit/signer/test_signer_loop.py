"""The polling loop against an in-memory coordinator: pool top-up, signing, refusals, outages."""

import threading
from collections.abc import Iterator

import httpx
import pytest
from tests.support.fake_coordinator import LTC, FakeCoordinator
from tests.support.signer_templates import BOB_SCRIPT, Out, path, pubkey, standard_case
from tests.support.wait import wait_until

from custody.chains.bitcoin import network, p2wpkh_address
from custody.contract.addresses import AddressBranch
from custody.contract.currencies import Currency
from custody.contract.templates import SignedTransaction, TemplateStatus
from custody.signer.client import CoordinatorClient
from custody.signer.errors import CoordinatorError
from custody.signer.loop import SignerLoop
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner

URL = "http://coordinator.test"


@pytest.fixture
def fake() -> FakeCoordinator:
    return FakeCoordinator()


@pytest.fixture
def settings() -> SignerSettings:
    return SignerSettings(pool_target=5, change_pool_target=2, poll_interval=0.01,
                          coordinator_url=URL, token="signer-token")  # type: ignore[arg-type]


@pytest.fixture
def client(fake: FakeCoordinator) -> Iterator[CoordinatorClient]:
    with CoordinatorClient(URL, fake.token, transport=fake.transport()) as c:
        yield c


@pytest.fixture
def loop(signer: TemplateSigner, client: CoordinatorClient, settings: SignerSettings) -> SignerLoop:
    return SignerLoop(signer, client, settings)


def posts(fake: FakeCoordinator, path_: str) -> list[bytes]:
    return [body for method, p, body in fake.requests if method == "POST" and p == path_]


def test_pool_is_filled_to_target_on_both_branches(loop: SignerLoop, fake: FakeCoordinator) -> None:
    assert loop.run_once().added == 7
    by_branch = {
        b: sorted((a for a in fake.pool.values() if a.branch == b), key=lambda a: a.derivation_path)
        for b in (AddressBranch.RECEIVE, AddressBranch.CHANGE)
    }
    assert [a.derivation_path for a in by_branch[AddressBranch.RECEIVE]] == [
        path(0, i) for i in range(5)
    ]
    assert [a.derivation_path for a in by_branch[AddressBranch.CHANGE]] == [path(1, 0), path(1, 1)]
    for entry in fake.pool.values():
        key = pubkey(entry.derivation_path)  # embit's derivation, not ours
        assert entry.public_key == key.hex() and entry.fingerprint == "73c5da0a"
        assert entry.address == p2wpkh_address(network("ltc-regtest"), key)
        assert entry.currency == "LTC"


def test_full_pool_gets_no_posts(loop: SignerLoop, fake: FakeCoordinator) -> None:
    loop.run_once()
    before = len(posts(fake, "/v1/addresses"))
    assert loop.run_once().added == 0
    assert len(posts(fake, "/v1/addresses")) == before


def test_pool_with_holes_is_refilled_past_them(loop: SignerLoop, fake: FakeCoordinator) -> None:
    loop.run_once()
    for address in [a.address for a in fake.pool.values() if a.derivation_path == path(0, 1)]:
        del fake.pool[address]  # total drops to 4: indexes 4.. are posted again, then 5 is new
    assert loop.run_once().added == 1
    assert sorted(a.derivation_path for a in fake.pool.values() if a.branch == "receive") == [
        path(0, i) for i in (0, 2, 3, 4, 5)
    ]


def test_unsigned_templates_are_signed_and_posted(loop: SignerLoop, fake: FakeCoordinator) -> None:
    template = standard_case().template()
    fake.add(template)
    report = loop.run_once()
    assert (report.signed, report.refused) == (1, 0)
    answered = fake.templates[template.id]
    assert answered.status is TemplateStatus.SIGNED and answered.signed_payload
    [body] = posts(fake, f"/v1/templates/{template.id}/signature")
    assert SignedTransaction.model_validate_json(body).txid == template.txid


def test_refusal_is_reported_with_its_code(loop: SignerLoop, fake: FakeCoordinator) -> None:
    case = standard_case()
    case.outputs[0] = Out(BOB_SCRIPT, case.outputs[0].value)
    fake.add(case.template())
    assert loop.run_once().refused == 1
    answered = fake.templates[case.tid]
    assert answered.status is TemplateStatus.REJECTED and answered.rejection is not None
    assert answered.rejection.code == "output_unexpected"
    assert "no intent, not change" in answered.rejection.reason


def test_currency_on_another_network_is_not_served(loop: SignerLoop, fake: FakeCoordinator) -> None:
    fake.currencies = [Currency(**{**LTC.model_dump(), "network": "ltc-main"})]
    fake.add(standard_case().template())
    report = loop.run_once()
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


def test_bad_token_is_a_coordinator_error(loop: SignerLoop, fake: FakeCoordinator) -> None:
    fake.token = "another"
    with pytest.raises(CoordinatorError) as error:
        loop.run_once()
    assert error.value.status == 401 and error.value.code == "unauthenticated"


def test_unreachable_coordinator_is_retried(signer: TemplateSigner, settings: SignerSettings) -> None:
    attempts: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ConnectError("connection refused", request=request)

    with CoordinatorClient(URL, "t", transport=httpx.MockTransport(refuse)) as client:
        loop = SignerLoop(signer, client, settings)
        stop = threading.Event()
        worker = threading.Thread(target=loop.run, args=(stop,))
        worker.start()
        wait_until(lambda: len(attempts) >= 3, timeout=10)
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_posts_carry_a_stable_idempotency_key(fake: FakeCoordinator) -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            keys.append(request.headers["idempotency-key"])
        return fake.handle(request)

    signed = SignedTransaction(signed_payload="00", txid="ab" * 32)
    fake.add(standard_case().template())
    with CoordinatorClient(URL, fake.token, transport=httpx.MockTransport(handler)) as client:
        client.post_signature("tpl-1", signed)
        client.post_signature("tpl-1", signed)
    assert len(keys) == 2 and keys[0] == keys[1]


def test_garbage_answer_is_a_coordinator_error(fake: FakeCoordinator) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"not": "a list"}))
    with CoordinatorClient(URL, "t", transport=transport) as client:
        with pytest.raises(CoordinatorError, match="unexpected answer"):
            client.currencies()
