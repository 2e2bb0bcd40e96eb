"""Nano raw amounts far past 64 bits pass unchanged through the API, the database and the ledger.

On SQLite and on PostgreSQL: XNO deposit accounts go into the pool, deposits of 2^127 + 3 and
2^64 + 1 raw are reported and credited, a withdrawal of 2^100 + 7 raw is held, put in a
template, signed, broadcast and confirmed (settled), another is cancelled (released). Every
balance is checked to the raw, as decimal strings both ways.
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from tests.integration.nano.stack import FEE, nano_config
from tests.support.api import Api
from tests.support.keys import approval, signed_intent
from tests.unit.nano.nano_templates import XNO, account, foreign_account, path, public_key

BIG_DEPOSIT = 2**127 + 3
SMALL_BIG = 2**64 + 1
WITHDRAWN = 2**100 + 7
CANCELLED = 2**90


@pytest.fixture
def nano_api(db_url: str) -> Iterator[Api]:
    """The coordinator with XNO listed, on SQLite or PostgreSQL (db_url is parametrized)."""
    engine = make_engine(db_url)
    settings = CoordinatorSettings(database_url=db_url, migrate_on_start=False)
    runtime = Runtime(settings=settings, config=nano_config(), engine=engine,
                      sessions=make_sessionmaker(engine))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Api(runtime, client)
    engine.dispose()


def post_pool(api: Api) -> None:
    """The signer's pool entries: the hot account and three deposit accounts."""
    entries = [
        {"currency": "XNO", "address": account(i), "derivation_path": path(i),
         "public_key": public_key(i).hex(), "branch": "hot" if i == 0 else "receive"}
        for i in range(4)
    ]
    r = api.signer.post("/v1/addresses", {"addresses": entries})
    assert r.status_code == 200, r.text


def credit(api: Api, user: str, send: str, amount: int) -> None:
    """The watcher reports a confirmed send to the user's deposit account."""
    report = {"currency": "XNO", "txid": send, "output_index": 0,
              "address": api.deposit_address(user, "XNO"), "amount": str(amount),
              "block_hash": send, "confirmations": 1}
    r = api.watcher.post("/v1/deposits", {"deposits": [report]})
    assert r.status_code == 200, r.text
    assert r.json()[0]["state"] == "credited" and r.json()[0]["amount"] == str(amount)


def withdraw(api: Api, amount: int, request_id: str) -> str:
    intent = WithdrawalIntent(request_id=request_id, user_id="whale", currency="XNO",
                              amount=amount, destination=foreign_account("far away"))
    r = api.exchange.post("/v1/withdrawals", signed_intent(intent))
    assert r.status_code == 200, r.text
    assert r.json()["intent"]["amount"] == str(amount)
    wid = str(r.json()["id"])
    if amount > XNO:  # above the automatic limit: one operator approves
        r = api.operator.post(f"/v1/withdrawals/{wid}/approvals", approval(intent))
        assert r.status_code == 200, r.text
    return wid


def pay(api: Api, wid: str) -> None:
    """Template, signature, broadcast, confirmation: the coordinator's side of one send."""
    txid = "AB" * 32
    body = {"currency": "XNO", "kind": "withdrawal", "withdrawal_ids": [wid],
            "payload": '{"stand-in": "a nano template"}', "txid": txid}
    r = api.watcher.post("/v1/templates", body)
    assert r.status_code == 200, r.text
    tid = r.json()["id"]
    steps = [
        (api.signer, f"/v1/templates/{tid}/signature", {"signed_payload": "00" * 216, "txid": txid}),
        (api.watcher, f"/v1/templates/{tid}/broadcast", {"txid": txid}),
        (api.watcher, f"/v1/templates/{tid}/confirmation",
         {"block_hash": txid, "block_height": 2, "confirmations": 1}),
    ]
    for client, route, step in steps:
        r = client.post(route, step)
        assert r.status_code == 200, r.text


def test_big_raw_amounts_are_exact(nano_api: Api) -> None:
    api = nano_api
    post_pool(api)
    credit(api, "whale", "11" * 32, BIG_DEPOSIT)
    credit(api, "whale", "22" * 32, SMALL_BIG)
    total = BIG_DEPOSIT + SMALL_BIG
    assert api.balance("whale", "XNO") == (total, 0)

    paid = withdraw(api, WITHDRAWN, "big-1")
    cancelled = withdraw(api, CANCELLED, "big-2")
    held = WITHDRAWN + CANCELLED + 2 * FEE
    assert api.balance("whale", "XNO") == (total - held, held)

    r = api.exchange.post(f"/v1/withdrawals/{cancelled}/cancel", {"reason": "changed mind"})
    assert r.status_code == 200, r.text
    pay(api, paid)
    assert api.balance("whale", "XNO") == (total - WITHDRAWN - FEE, 0)
    r = api.exchange.get(f"/v1/withdrawals/{paid}")
    assert (r.json()["state"], r.json()["intent"]["amount"]) == ("confirmed", str(WITHDRAWN))
    r = api.exchange.get("/v1/deposits", currency="XNO")
    assert sorted(int(d["amount"]) for d in r.json()) == [SMALL_BIG, BIG_DEPOSIT]
