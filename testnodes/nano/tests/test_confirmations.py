"""Confirmation in chain order: after a delay, a block only after its previous, a receive only
after its source send; holds delay confirmations or stop them for good.

The ledger runs on a hand-moved clock, so nothing here sleeps.
"""

from __future__ import annotations

import pytest

from testnodes.nano.confirm import ConfirmationPolicy, advance
from testnodes.nano.ledger import Ledger
from testnodes.nano.state import DEV_GENESIS_KEY
from testnodes.nano.tests.helpers import FakeClock, fund, key, pub, receive, send

ALICE, BOB = key(1), key(2)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock) -> Ledger:
    return Ledger(DEV_GENESIS_KEY, 10**33, clock=clock)


def test_genesis_is_confirmed_from_the_start(ledger: Ledger) -> None:
    genesis = ledger.accounts[ledger.genesis_account]
    assert genesis.confirmed_height == genesis.block_count == 1
    assert ledger.is_confirmed(genesis.head)


def test_block_confirms_after_the_delay(ledger: Ledger, clock: FakeClock) -> None:
    policy = ConfirmationPolicy(delay=2.0)
    funding = fund(ledger, pub(ALICE), 10)
    clock.now += 1.9
    assert advance(ledger, policy) == []
    assert not ledger.is_confirmed(funding.hash)
    clock.now += 0.1
    assert advance(ledger, policy) == [funding.hash]
    assert ledger.accounts[ledger.genesis_account].confirmed_frontier == funding.hash


def test_lowering_the_delay_speeds_up_waiting_blocks(ledger: Ledger) -> None:
    policy = ConfirmationPolicy(delay=60.0)
    funding = fund(ledger, pub(ALICE), 10)
    assert advance(ledger, policy) == []
    policy.delay = 0.0
    assert advance(ledger, policy) == [funding.hash]


def test_receive_waits_for_its_source(ledger: Ledger, clock: FakeClock) -> None:
    policy = ConfirmationPolicy(delay=1.0, held=set())
    funding = fund(ledger, pub(ALICE), 10)
    opening = receive(ledger, ALICE, funding)
    policy.held.add(funding.hash)
    clock.now += 5
    assert advance(ledger, policy) == []  # the open's own delay passed, its source did not confirm
    assert not ledger.is_confirmed(opening.hash)
    policy.held.clear()
    assert advance(ledger, policy) == [funding.hash, opening.hash]


def test_block_waits_for_its_previous(ledger: Ledger, clock: FakeClock) -> None:
    policy = ConfirmationPolicy(delay=1.0)
    first = fund(ledger, pub(ALICE), 10)
    second = fund(ledger, pub(BOB), 10)
    policy.held.add(first.hash)
    clock.now += 5
    assert advance(ledger, policy) == []
    assert not ledger.is_confirmed(second.hash)
    policy.held.discard(first.hash)
    assert advance(ledger, policy) == [first.hash, second.hash]


def test_chain_order_across_accounts(ledger: Ledger, clock: FakeClock) -> None:
    """A later block can be due sooner than the blocks it depends on; it still waits."""
    policy = ConfirmationPolicy(delay=1.0)
    funding = fund(ledger, pub(ALICE), 10)
    clock.now += 0.5
    opening = receive(ledger, ALICE, funding)
    spend = send(ledger, ALICE, pub(BOB), 4)
    bob_open = receive(ledger, BOB, spend)
    clock.now += 0.6  # the funding is due now, the others are not
    assert advance(ledger, policy) == [funding.hash]
    clock.now += 1.0
    assert advance(ledger, policy) == [opening.hash, spend.hash, bob_open.hash]


def test_hold_all_then_release(ledger: Ledger, clock: FakeClock) -> None:
    policy = ConfirmationPolicy(delay=0.0, hold_all=True)
    funding = fund(ledger, pub(ALICE), 10)
    clock.now += 100
    assert advance(ledger, policy, ignore_delay=True) == []
    policy.hold_all = False
    assert advance(ledger, policy) == [funding.hash]


def test_a_held_block_never_confirms(ledger: Ledger, clock: FakeClock) -> None:
    policy = ConfirmationPolicy(delay=0.0, held=set())
    funding = fund(ledger, pub(ALICE), 10)
    policy.held.add(funding.hash)
    for _ in range(3):
        clock.now += 1000
        assert advance(ledger, policy, ignore_delay=True) == []
    assert ledger.receivable(pub(ALICE), only_confirmed=True) == []
    assert [h for h, _ in ledger.receivable(pub(ALICE), only_confirmed=False)] == [funding.hash]


def test_confirmation_survives_later_blocks(ledger: Ledger) -> None:
    policy = ConfirmationPolicy()
    funding = fund(ledger, pub(ALICE), 10)
    advance(ledger, policy)
    opening = receive(ledger, ALICE, funding)
    info = ledger.accounts[pub(ALICE)]
    assert (info.confirmed_height, info.block_count) == (0, 1)
    assert advance(ledger, policy) == [opening.hash]
    assert ledger.accounts[pub(ALICE)].confirmed_frontier == opening.hash
