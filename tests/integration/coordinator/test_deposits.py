"""Deposits: reported as seen, credited once at depth, orphaned or reversed by a reorg."""

from typing import Any

from sqlalchemy import func, select

from custody.coordinator.db.tables import AuditRow, DepositRow, LedgerEventRow
from tests.support.api import BIG, Api


def _report(address: str, amount: int, confirmations: int, **over: Any) -> dict[str, Any]:
    report = {
        "currency": "LTC",
        "txid": "ab" * 32,
        "output_index": 1,
        "address": address,
        "amount": str(amount),
        "block_hash": "cd" * 32,
        "block_height": 120,
        "confirmations": confirmations,
    }
    report.update(over)
    return report


def _post(api: Api, *reports: dict[str, Any]) -> list[dict[str, Any]]:
    r = api.watcher.post("/v1/deposits", {"deposits": list(reports)})
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


def _count(api: Api, table: type) -> int:
    with api.runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_pending_until_deep_enough_then_credited_once(api: Api) -> None:
    api.fill_pool(2)
    address = api.deposit_address("alice")
    assert _post(api, _report(address, 5000, 1))[0]["state"] == "pending"
    assert api.balance("alice") == (0, 0)
    credited = _post(api, _report(address, 5000, 3))[0]
    assert credited["state"] == "credited"
    assert api.balance("alice") == (5000, 0)
    for depth in (3, 4, 10, 3):
        assert _post(api, _report(address, 5000, depth))[0]["state"] == "credited"
    assert api.balance("alice") == (5000, 0)
    assert _count(api, DepositRow) == 1
    assert _count(api, LedgerEventRow) == 1


def test_replaying_a_batch_changes_nothing(api: Api) -> None:
    api.fill_pool(2)
    address = api.deposit_address("alice")
    batch = [_report(address, 7, 6, output_index=i) for i in range(3)]
    first = _post(api, *batch)
    again = _post(api, *batch)
    assert [d["id"] for d in first] == [d["id"] for d in again]
    assert api.balance("alice") == (21, 0)
    assert _count(api, LedgerEventRow) == 3


def test_orphaned_before_credit(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    _post(api, _report(address, 100, 1))
    gone = _post(api, _report(address, 100, 0, in_chain=False))[0]
    assert gone["state"] == "orphaned"
    assert api.balance("alice") == (0, 0)
    assert _count(api, LedgerEventRow) == 0


def test_reversed_after_credit_then_credited_again_once(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    _post(api, _report(address, 100, 3))
    reversed_ = _post(api, _report(address, 100, 0, in_chain=False))[0]
    assert reversed_["state"] == "reversed"
    assert api.balance("alice") == (0, 0)
    with api.runtime.sessions() as s:
        alerts = s.scalars(
            select(AuditRow.action).where(AuditRow.action == "alert_deposit_reversed")
        )
        assert list(alerts) == ["alert_deposit_reversed"]
    _post(api, _report(address, 100, 0, in_chain=False))  # replay of the removal
    back = _post(api, _report(address, 100, 1, block_hash="ef" * 32))[0]
    assert back["state"] == "pending"
    again = _post(api, _report(address, 100, 5, block_hash="ef" * 32))[0]
    assert again["state"] == "credited"
    assert again["credit_count"] == 2
    _post(api, _report(address, 100, 6, block_hash="ef" * 32))
    assert api.balance("alice") == (100, 0)
    assert _count(api, LedgerEventRow) == 3  # credit, reversal, credit


def test_reversal_may_overdraw_a_user_who_spent_the_credit(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    _post(api, _report(address, 100, 3))
    with api.runtime.sessions.begin() as s:
        from custody.coordinator import ledger

        ledger.post(
            s, "test:spend", "test", "LTC", {ledger.available("alice"): -60, ledger.FEES: 60}
        )
    _post(api, _report(address, 100, 0, in_chain=False))
    assert api.balance("alice") == (-60, 0)


def test_same_key_with_other_amount_is_refused(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    _post(api, _report(address, 100, 1))
    r = api.watcher.post("/v1/deposits", {"deposits": [_report(address, 101, 1)]})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "deposit_mismatch"


def test_payment_to_an_unassigned_address_is_refused(api: Api) -> None:
    addresses = api.fill_pool(2)
    r = api.watcher.post("/v1/deposits", {"deposits": [_report(addresses[1], 100, 1)]})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "unknown_address"


def test_feed_follows_every_change_in_order(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    _post(api, _report(address, 100, 1))
    _post(api, _report(address, 100, 3))
    feed = api.exchange.get("/v1/deposits/feed", since=0).json()
    assert [e["state"] for e in feed["events"]] == ["pending", "credited"]
    later = api.exchange.get("/v1/deposits/feed", since=feed["next_cursor"]).json()
    assert later == {"events": [], "next_cursor": feed["next_cursor"]}
    _post(api, _report(address, 100, 0, in_chain=False))
    later = api.exchange.get("/v1/deposits/feed", since=feed["next_cursor"]).json()
    assert [e["state"] for e in later["events"]] == ["reversed"]


def test_amounts_past_int64_round_trip(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    amount = BIG + 12345
    credited = _post(api, _report(address, amount, 3))[0]
    assert credited["amount"] == str(amount)
    assert api.balance("alice") == (amount, 0)
    listed = api.watcher.get("/v1/deposits", currency="LTC").json()
    assert listed[0]["amount"] == str(amount)
