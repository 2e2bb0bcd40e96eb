"""Fifty identical withdrawal requests at once over real HTTP make one withdrawal and one hold.

This is the lost-reply retry storm: the exchange's client retries in parallel. Run on both
databases; PostgreSQL is where real concurrency happens (SQLite serialises writers).
"""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.db.tables import LedgerEventRow, WithdrawalRow
from tests.support.api import Api
from tests.support.keys import signed_intent
from tests.support.server import serve


def test_fifty_concurrent_identical_requests(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 1_000_000)
    dest = api.fill_pool(1, branch="change")[0]
    intent = WithdrawalIntent(
        request_id="storm", user_id="alice", currency="LTC", amount=50_000, destination=dest
    )
    body = signed_intent(intent)
    with (
        serve(api.runtime) as url,
        httpx.Client(base_url=url, headers=api.exchange.headers, timeout=60) as http,
    ):
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda _: http.post("/v1/withdrawals", json=body), range(50)))
    assert {a.status_code for a in answers} == {200}, {
        a.text for a in answers if a.status_code != 200
    }
    assert len({a.json()["id"] for a in answers}) == 1
    with api.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WithdrawalRow)) == 1
        holds = (
            select(func.count())
            .select_from(LedgerEventRow)
            .where(LedgerEventRow.kind == "withdrawal_hold")
        )
        assert s.scalar(holds) == 1
    assert api.balance("alice") == (1_000_000 - 51_000, 51_000)


def test_concurrent_requests_cannot_overdraw(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 100_000)
    dest = api.fill_pool(1, branch="change")[0]
    bodies = [
        signed_intent(
            WithdrawalIntent(
                request_id=f"r{i}", user_id="alice", currency="LTC", amount=9_000, destination=dest
            )
        )
        for i in range(30)
    ]
    with (
        serve(api.runtime) as url,
        httpx.Client(base_url=url, headers=api.exchange.headers, timeout=60) as http,
    ):
        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(lambda b: http.post("/v1/withdrawals", json=b), bodies))
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 409]
    assert len(ok) == 10 and len(refused) == 20  # 10 x (9000 + 1000 fee) = 100000
    assert {a.json()["error"]["code"] for a in refused} == {"insufficient_funds"}
    assert api.balance("alice") == (0, 100_000)
