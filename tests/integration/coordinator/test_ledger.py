"""The ledger: events post once however often replayed, and every currency sums to zero."""

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.coordinator import ledger
from custody.coordinator.errors import Conflict
from custody.coordinator.runtime import Runtime
from tests.support.api import BIG

USERS = ["alice", "bob", "carol"]
AMOUNTS = st.one_of(st.integers(1, 10**6), st.integers(2**64, BIG))
OPS = st.lists(
    st.tuples(
        st.sampled_from(["credit", "hold", "release", "settle", "reverse", "replay"]),
        st.sampled_from(USERS),
        AMOUNTS,
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=30,
)


def _legs(op: str, user: str, amount: int) -> tuple[dict[str, int], bool]:
    avail, held = ledger.available(user), ledger.held(user)
    return {
        "credit": ({avail: amount, ledger.WORLD_DEPOSITS: -amount}, False),
        "hold": ({avail: -amount, held: amount}, False),
        "release": ({held: -amount, avail: amount}, False),
        "settle": ({held: -amount, ledger.WORLD_WITHDRAWALS: amount - 1, ledger.FEES: 1}, False),
        "reverse": ({avail: -amount, ledger.WORLD_DEPOSITS: amount}, True),
    }[op]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_random_sequences_balance_and_replays_change_nothing(
    runtime: Runtime, ops: list[tuple[str, str, int, int]]
) -> None:
    run = uuid.uuid4().hex[:8]
    posted: list[tuple[str, str, dict[str, int], bool]] = []
    for n, (op, user, amount, pick) in enumerate(ops):
        if op == "replay":
            if not posted:
                continue
            key, kind, legs, overdraft = posted[pick % len(posted)]
            with runtime.sessions.begin() as s:
                before = ledger.event_count(s)
                assert ledger.post(s, key, kind, "LTC", legs, allow_overdraft=overdraft) is False
                assert ledger.event_count(s) == before
            continue
        legs, overdraft = _legs(op, user, amount)
        key = f"{run}:{n}:{op}"
        try:
            with runtime.sessions.begin() as s:
                assert ledger.post(s, key, op, "LTC", legs, allow_overdraft=overdraft)
            posted.append((key, op, legs, overdraft))
        except Conflict as e:
            assert e.code == "insufficient_funds" and not overdraft
    with runtime.sessions() as s:
        assert ledger.totals(s).get("LTC", 0) == 0
        assert ledger.postings_match_balances(s)
        for user in USERS:
            assert ledger.balance(s, ledger.held(user), "LTC") >= 0


def test_unbalanced_event_is_a_bug(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        try:
            ledger.post(s, "x", "x", "LTC", {"a": 1, "b": -2})
        except ValueError as e:
            assert "does not balance" in str(e)
        else:
            raise AssertionError("an unbalanced event was posted")


def test_amounts_far_past_int64_are_exact(runtime: Runtime) -> None:
    wei = 2**256 - 1
    with runtime.sessions.begin() as s:
        ledger.post(
            s, "big", "credit", "ETH", {ledger.available("alice"): wei, ledger.WORLD_DEPOSITS: -wei}
        )
    with runtime.sessions() as s:
        assert ledger.balance(s, ledger.available("alice"), "ETH") == wei
        assert ledger.balance(s, ledger.WORLD_DEPOSITS, "ETH") == -wei
