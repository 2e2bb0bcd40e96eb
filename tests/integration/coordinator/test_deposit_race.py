"""Two reports of one output at the same time cannot make a credit happen twice.

On PostgreSQL only: SQLite serialises writers, so there is no race to show there.

The watcher says "six confirmations" while, in another transaction, a stale round says "left the
chain". The second report waits for the first one's row lock, then sees `credited` and reverses
it; when the block comes back the deposit is credited again: the user holds the amount once.
"""

import threading

from fastapi.testclient import TestClient
from sqlalchemy import text

from custody.contract.deposits import DepositReport, DepositReportBatch
from custody.coordinator import ledger
from custody.coordinator.app import create_app
from custody.coordinator.auth import Principal, Role
from custody.coordinator.runtime import Runtime
from custody.coordinator.services import deposits
from tests.support.api import Api
from tests.support.wait import wait_until

WATCHER = Principal("tok_test", "race", Role.WATCHER)


def _report(runtime: Runtime, session: object, **fields: object) -> None:
    batch = DepositReportBatch(deposits=[DepositReport(**fields)])  # type: ignore[arg-type]
    deposits.report(session, runtime.config, WATCHER, batch)  # type: ignore[arg-type]


def _waiting_on_a_lock(runtime: Runtime) -> bool:
    with runtime.engine.connect() as conn:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return bool(conn.execute(query).scalar())


def test_credit_and_removal_reports_racing(pg_runtime: Runtime) -> None:
    runtime = pg_runtime
    api = Api(runtime, TestClient(create_app(runtime)))
    api.fill_pool(1)
    base = {
        "currency": "LTC",
        "txid": "aa" * 32,
        "output_index": 0,
        "amount": 5000,
        "address": api.deposit_address("u1"),
        "block_hash": "bb" * 32,
        "block_height": 100,
    }
    with runtime.sessions.begin() as s:
        _report(runtime, s, confirmations=1, **base)
    first = runtime.sessions()
    first.begin()
    _report(runtime, first, confirmations=6, **base)  # credited, not yet committed

    def stale_removal() -> None:
        with runtime.sessions.begin() as s:
            _report(runtime, s, confirmations=0, in_chain=False, **base)

    racer = threading.Thread(target=stale_removal)
    racer.start()
    wait_until(lambda: _waiting_on_a_lock(runtime), timeout=10)
    first.commit()
    first.close()
    racer.join(timeout=10)
    with runtime.sessions.begin() as s:
        _report(runtime, s, confirmations=7, **base)  # the block is back
        assert ledger.balance(s, ledger.available("u1"), "LTC") == 5000
