"""Smoke: a deposit is credited and a withdrawal holds funds."""

from tests.support.api import Api

from custody.contract.withdrawals import WithdrawalIntent


def test_deposit_then_withdrawal(api: Api) -> None:
    api.fill_pool(3)
    api.credit("alice", 500_000)
    assert api.balance("alice") == (500_000, 0)
    dest = api.fill_pool(1, branch="change")[0]
    r = api.withdraw(
        WithdrawalIntent(
            request_id="r1", user_id="alice", currency="LTC", amount=1000, destination=dest
        )
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    assert api.balance("alice") == (500_000 - 2000, 2000)
