"""Withdrawals: a signed intent holds funds once; approvals by tier; cancellation releases."""

from typing import Any

from sqlalchemy import func, select

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.db.tables import LedgerEventRow, WithdrawalRow
from tests.support.api import BIG, Api
from tests.support.keys import OPERATORS, STRANGER, approval, signed_intent

DEST = "rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kfmlh4p"


def _dest(api: Api) -> str:
    return api.fill_pool(1, branch="change")[0]


def _intent(
    dest: str, amount: int = 10_000, rid: str = "req-1", user: str = "alice"
) -> WithdrawalIntent:
    return WithdrawalIntent(
        request_id=rid, user_id=user, currency="LTC", amount=amount, destination=dest
    )


def _count(api: Api, table: type) -> int:
    with api.runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_small_withdrawal_is_held_and_approved_automatically(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 50_000)
    r = api.withdraw(_intent(_dest(api)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "approved"
    assert body["fee"] == "1000"
    assert body["approvals_required"] == 0
    assert api.balance("alice") == (50_000 - 11_000, 11_000)


def test_repeating_the_request_returns_the_first_answer(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 50_000)
    intent = _intent(_dest(api))
    first = api.withdraw(intent)
    for _ in range(3):
        again = api.withdraw(intent)
        assert again.status_code == 200
        assert again.json() == first.json()
    assert _count(api, WithdrawalRow) == 1
    assert _count(api, LedgerEventRow) == 2  # the deposit credit and one hold
    assert api.balance("alice") == (39_000, 11_000)


def test_request_id_reused_for_another_intent(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 50_000)
    dest = _dest(api)
    api.withdraw(_intent(dest))
    r = api.withdraw(_intent(dest, amount=10_001))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "request_id_conflict"


def test_insufficient_funds_writes_nothing(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 10_999)
    r = api.withdraw(_intent(_dest(api)))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "insufficient_funds"
    assert _count(api, WithdrawalRow) == 0
    assert api.balance("alice") == (10_999, 0)


def _post_raw(api: Api, intent: dict[str, Any], signature: str = "00" * 64) -> dict[str, Any]:
    r = api.exchange.post("/v1/withdrawals", {"intent": intent, "signature": signature})
    assert 400 <= r.status_code < 500, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


def test_bad_inputs_name_the_field_and_write_nothing(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 10**12)
    good = _intent(_dest(api)).model_dump(mode="json")
    cases = {
        "float amount": ({**good, "amount": 1.5}, "invalid_amount", "intent.amount"),
        "number amount": ({**good, "amount": 1000}, "invalid_amount", "intent.amount"),
        "decimal string": ({**good, "amount": "1.5"}, "invalid_amount", "intent.amount"),
        "negative": ({**good, "amount": "-5"}, "invalid_amount", "intent.amount"),
        "leading zero": ({**good, "amount": "0100"}, "invalid_amount", "intent.amount"),
        "unknown currency": ({**good, "currency": "DOGE"}, "unknown_currency", "intent.currency"),
        "garbage address": (
            {**good, "destination": "not-an-address"},
            "invalid_address",
            "intent.destination",
        ),
        "mainnet address": (
            {**good, "destination": "ltc1qcr8te4kr609gcawutmrza0j4xv80jy8z4nqduv"},
            "invalid_address",
            "intent.destination",
        ),
        "missing user": (
            {k: v for k, v in good.items() if k != "user_id"},
            "invalid_request",
            "intent.user_id",
        ),
        "extra field": ({**good, "memo": "x"}, "invalid_request", "intent.memo"),
    }
    for name, (intent, code, field) in cases.items():
        error = _post_raw(api, intent)
        assert (error["code"], error["field"]) == (code, field), name
        assert error["message"], name
    zero = WithdrawalIntent(**{**good, "amount": 0})  # type: ignore[arg-type]
    error = api.withdraw(zero).json()["error"]
    assert (error["code"], error["field"]) == ("invalid_amount", "intent.amount")
    assert _count(api, WithdrawalRow) == 0


def test_signature_must_be_the_exchanges(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 50_000)
    intent = _intent(_dest(api))
    body = signed_intent(intent)
    tampered = {**body, "intent": {**body["intent"], "amount": "10001"}}  # type: ignore[dict-item]
    for bad in (
        {**body, "signature": "00" * 64},
        tampered,
        {**body, "signature": STRANGER.sign(b"x").hex()},
    ):
        r = api.exchange.post("/v1/withdrawals", bad)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invalid_signature"
    assert _count(api, WithdrawalRow) == 0


def test_large_withdrawals_wait_for_operator_approvals_by_tier(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 10**11)
    dest = _dest(api)
    one = _intent(dest, amount=500_000_000, rid="one")
    two = _intent(dest, amount=2_000_000_000, rid="two")
    w1 = api.withdraw(one).json()
    w2 = api.withdraw(two).json()
    assert (w1["state"], w1["approvals_required"]) == ("requested", 1)
    assert (w2["state"], w2["approvals_required"]) == ("requested", 2)
    r = api.operator.post(f"/v1/withdrawals/{w1['id']}/approvals", approval(one, 0))
    assert r.json()["state"] == "approved"
    r = api.operator.post(f"/v1/withdrawals/{w2['id']}/approvals", approval(two, 0))
    assert r.json()["state"] == "requested"
    again = api.operator.post(f"/v1/withdrawals/{w2['id']}/approvals", approval(two, 0))
    assert again.json() == r.json()
    r = api.operator.post(f"/v1/withdrawals/{w2['id']}/approvals", approval(two, 1))
    assert r.json()["state"] == "approved"
    assert len(r.json()["approvals"]) == 2


def test_approval_replayed_from_another_intent_is_refused(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 10**11)
    dest = _dest(api)
    one = _intent(dest, amount=500_000_000, rid="one")
    two = _intent(dest, amount=500_000_000, rid="two")
    api.withdraw(one)
    w2 = api.withdraw(two).json()
    r = api.operator.post(f"/v1/withdrawals/{w2['id']}/approvals", approval(one, 0))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_signature"
    stranger = {
        "operator_key": STRANGER.public_key().public_bytes_raw().hex(),
        "signature": "00" * 64,
    }
    r = api.operator.post(f"/v1/withdrawals/{w2['id']}/approvals", stranger)
    assert r.json()["error"]["code"] == "unknown_operator"
    r = api.operator.post("/v1/withdrawals/wd_nope/approvals", approval(two, 0))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_withdrawal")
    assert len(OPERATORS) == 3


def test_cancel_releases_the_hold_once(api: Api) -> None:
    api.fill_pool(1)
    api.credit("alice", 50_000)
    w = api.withdraw(_intent(_dest(api))).json()
    r = api.exchange.post(f"/v1/withdrawals/{w['id']}/cancel", {"reason": "user asked"})
    assert r.json()["state"] == "cancelled"
    again = api.exchange.post(f"/v1/withdrawals/{w['id']}/cancel", {"reason": "user asked"})
    assert again.json()["state"] == "cancelled"
    assert api.balance("alice") == (50_000, 0)


def test_big_amounts_hold_and_release_exactly(api: Api) -> None:
    api.fill_pool(1)
    amount = BIG + 1
    api.credit("alice", amount * 2)
    intent = WithdrawalIntent(
        request_id="big", user_id="alice", currency="LTC", amount=amount, destination=_dest(api)
    )
    w = api.withdraw(intent).json()
    assert w["intent"]["amount"] == str(amount)
    assert api.balance("alice") == (amount * 2 - amount - 1000, amount + 1000)
    api.operator.post(f"/v1/withdrawals/{w['id']}/approvals", approval(intent, 0))
    api.operator.post(f"/v1/withdrawals/{w['id']}/approvals", approval(intent, 1))
    api.exchange.post(f"/v1/withdrawals/{w['id']}/cancel", {"reason": ""})
    assert api.balance("alice") == (amount * 2, 0)
