"""Canonical intent bytes: stable, domain-separated, and approvals bound to one intent."""

from custody.contract.intent import approval_bytes, intent_bytes, public_key_hex, sign, verify
from custody.contract.withdrawals import WithdrawalIntent
from tests.support.keys import EXCHANGE, STRANGER

INTENT = WithdrawalIntent(
    request_id="r-1", user_id="u-7", currency="LTC", amount=2**70, destination="rltc1qxyz"
)


def test_bytes_are_fixed() -> None:
    # A frozen vector: changing the encoding breaks every signature in flight.
    assert intent_bytes(INTENT) == (
        b"custody/withdrawal-intent/v1\n"
        b'{"amount":"1180591620717411303424","currency":"LTC","destination":"rltc1qxyz",'
        b'"request_id":"r-1","user_id":"u-7"}'
    )


def test_each_field_changes_the_bytes() -> None:
    variants = [
        INTENT.model_copy(update={"request_id": "r-2"}),
        INTENT.model_copy(update={"user_id": "u-8"}),
        INTENT.model_copy(update={"currency": "BTC"}),
        INTENT.model_copy(update={"amount": 2**70 + 1}),
        INTENT.model_copy(update={"destination": "rltc1qxyy"}),
    ]
    assert len({intent_bytes(v) for v in [INTENT, *variants]}) == 6


def test_signatures_verify_only_for_their_key_and_message() -> None:
    sig = sign(EXCHANGE, intent_bytes(INTENT))
    assert verify(public_key_hex(EXCHANGE), intent_bytes(INTENT), sig)
    assert not verify(public_key_hex(STRANGER), intent_bytes(INTENT), sig)
    assert not verify(public_key_hex(EXCHANGE), approval_bytes(INTENT), sig)
    assert not verify("zz", intent_bytes(INTENT), sig)
    assert not verify(public_key_hex(EXCHANGE), intent_bytes(INTENT), "00")


def test_approval_bytes_differ_from_intent_bytes() -> None:
    assert approval_bytes(INTENT).startswith(b"custody/withdrawal-approval/v1\n")
    assert approval_bytes(INTENT) != approval_bytes(INTENT.model_copy(update={"amount": 1}))
