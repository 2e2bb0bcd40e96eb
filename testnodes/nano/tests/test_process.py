"""Every `process` error text, each reached by the scenario that produces it on a node.

Blocks are built and signed with the peer's own signer (tests/helpers.py); the ledger runs
with dev thresholds so work is found in a millisecond.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testnodes.nano import crypto, errors
from testnodes.nano.block import StateBlock, parse_block
from testnodes.nano.codec import ZERO32
from testnodes.nano.errors import RpcError
from testnodes.nano.ledger import Ledger
from testnodes.nano.state import DEV_GENESIS_KEY
from testnodes.nano.tests.helpers import build, fund, key, pub, receive, rework, send

ALICE, BOB = key(1), key(2)
DEV = crypto.DEV


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(DEV_GENESIS_KEY, 10**33)


def refused(ledger: Ledger, block: StateBlock, subtype: str | None = None) -> str:
    with pytest.raises(RpcError) as caught:
        ledger.process(block, subtype)
    ledger.assert_conservation()
    return caught.value.message


def opened(ledger: Ledger, private_key: bytes, amount: int) -> StateBlock:
    return receive(ledger, private_key, fund(ledger, pub(private_key), amount))


# -- Block is invalid -------------------------------------------------------------------------


def _valid_json(ledger: Ledger) -> dict[str, str]:
    return build(ledger, ALICE, 5, fund(ledger, pub(ALICE), 5).hash).to_json()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "send"),  # only state blocks exist here
        ("account", "nano_1111"),
        ("representative", "xrb_1111111111111111111111111111111111111111111111111111hifc8npq"),
        ("balance", "0100"),  # leading zero: refused by the node's decode_dec
        ("balance", str(2**128)),
        ("balance", "-1"),
        ("previous", "00" * 31),  # short hex: the peer is stricter than the node (notes §7)
        ("link", "XYZ"),
        ("signature", "00" * 63),
        ("work", "zz" * 8),
        ("work", 5),
    ],
)
def test_block_is_invalid(ledger: Ledger, field: str, value: object) -> None:
    tree = _valid_json(ledger)
    tree[field] = value  # type: ignore[assignment]
    with pytest.raises(RpcError, match=f"^{errors.BLOCK_INVALID}$"):
        parse_block(tree, json_block=True)


def test_block_is_invalid_when_form_and_json_block_disagree(ledger: Ledger) -> None:
    tree = _valid_json(ledger)
    for value, json_block in [(json.dumps(tree), True), (tree, False), ("{not json", False)]:
        with pytest.raises(RpcError, match=f"^{errors.BLOCK_INVALID}$"):
            parse_block(value, json_block)
    assert parse_block(json.dumps(tree), False) == parse_block(tree, True)


def test_link_given_as_address_is_accepted(ledger: Ledger) -> None:
    tree = _valid_json(ledger)
    expected = parse_block(tree, True)
    tree["link"] = tree["link_as_account"]
    assert parse_block(tree, True) == expected


# -- subtype pre-check ---------------------------------------------------------------------------


def test_subtype_balance_errors(ledger: Ledger) -> None:
    opened(ledger, ALICE, 100)
    not_lower = build(ledger, ALICE, 100, pub(BOB))
    assert refused(ledger, not_lower, "send") == errors.SUBTYPE_BALANCE
    lower = build(ledger, ALICE, 90, fund(ledger, pub(ALICE), 5).hash)
    assert refused(ledger, lower, "receive") == errors.SUBTYPE_BALANCE
    assert refused(ledger, build(ledger, ALICE, 101), "change") == errors.SUBTYPE_BALANCE
    assert refused(ledger, build(ledger, ALICE, 99, pub(BOB)), "epoch") == errors.SUBTYPE_BALANCE


def test_subtype_previous_errors(ledger: Ledger) -> None:
    source = fund(ledger, pub(ALICE), 10)
    empty_open = build(ledger, ALICE, 0, source.hash)  # balance 0 == 0: passes the balance test
    assert refused(ledger, empty_open, "change") == errors.SUBTYPE_PREVIOUS
    opening = build(ledger, ALICE, 10, source.hash)
    ledger.process(opening, "open")
    change = build(ledger, ALICE, 10)
    assert refused(ledger, change, "open") == errors.SUBTYPE_PREVIOUS


def test_subtype_unknown_and_gap_first(ledger: Ledger) -> None:
    opening = opened(ledger, ALICE, 10)
    assert refused(ledger, build(ledger, ALICE, 10), "bogus") == errors.SUBTYPE_UNKNOWN
    orphan = build(ledger, ALICE, 10, previous=bytes(range(32)))
    # The pre-check looks for previous before it reads the subtype.
    assert refused(ledger, orphan, "bogus") == errors.GAP_PREVIOUS
    assert opening.hash in ledger.blocks


def test_invalid_epoch_link(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    same_balance = build(ledger, ALICE, 10, link=bytes(range(32)))
    assert refused(ledger, same_balance, "epoch") == errors.SUBTYPE_EPOCH_LINK


# -- work ------------------------------------------------------------------------------------------


def test_work_below_entry_is_less_than_threshold(ledger: Ledger) -> None:
    source = fund(ledger, pub(ALICE), 10)
    opening = rework(build(ledger, ALICE, 10, source.hash), 0, DEV.entry)
    assert refused(ledger, opening, "open") == errors.WORK_LOW
    assert refused(ledger, opening) == errors.WORK_LOW


def test_open_work_over_previous_instead_of_account_is_refused(ledger: Ledger) -> None:
    source = fund(ledger, pub(ALICE), 10)
    opening = build(ledger, ALICE, 10, source.hash)
    nonce = 0  # work good over the zero previous (nanopy's root), bad over the account key
    while not (
        crypto.work_value(nonce, ZERO32) >= DEV.epoch_2
        and crypto.work_value(nonce, opening.account) < DEV.entry
    ):
        nonce += 1
    assert refused(ledger, replace(opening, work=nonce)) == errors.WORK_LOW


def test_send_work_between_receive_and_send_thresholds_is_insufficient(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    weak_send = rework(build(ledger, ALICE, 4, pub(BOB)), DEV.epoch_2_receive, DEV.epoch_2)
    assert refused(ledger, weak_send, "send") == errors.INSUFFICIENT_WORK
    # The same work level is enough for a receive.
    source = fund(ledger, pub(ALICE), 5)
    weak_receive = rework(build(ledger, ALICE, 15, source.hash), DEV.epoch_2_receive, DEV.epoch_2)
    assert ledger.process(weak_receive, "receive") == weak_receive.hash


def test_change_needs_the_send_threshold(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    weak = rework(build(ledger, ALICE, 10, representative=pub(BOB)), DEV.entry, DEV.epoch_2)
    assert refused(ledger, weak, "change") == errors.INSUFFICIENT_WORK


# -- ledger checks ---------------------------------------------------------------------------------


def test_old_block_comes_before_signature(ledger: Ledger) -> None:
    opening = opened(ledger, ALICE, 10)
    assert refused(ledger, opening) == errors.OLD
    assert refused(ledger, opening, "open") == errors.OLD
    tampered = replace(opening, signature=bytes(64))
    assert refused(ledger, tampered) == errors.OLD  # same hash: signature is not in it


def test_bad_signature(ledger: Ledger) -> None:
    source = fund(ledger, pub(ALICE), 10)
    forged = StateBlock(pub(ALICE), ZERO32, pub(ALICE), 10, source.hash).signed(BOB)
    assert refused(ledger, forged.worked(DEV.epoch_2)) == errors.BAD_SIGNATURE


def test_burn_account_is_bad_signature_with_libsodium(ledger: Ledger) -> None:
    """A libsodium verifier refuses the small-order zero key, so "Burning account" cannot be
    reached through the real verifier: the peer answers "Bad signature" (notes §7)."""
    source = fund(ledger, ZERO32, 10)
    burn = StateBlock(ZERO32, ZERO32, ZERO32, 10, source.hash, bytes(64)).worked(DEV.epoch_2)
    assert refused(ledger, burn) == errors.BAD_SIGNATURE


def test_burn_account_check_follows_the_signature_check() -> None:
    """With a verifier that accepts (as the node's does for some forgeries), the next check
    in the node's order is the burn account."""
    ledger = Ledger(DEV_GENESIS_KEY, 10**33, verifier=lambda *_: True)
    source = fund(ledger, ZERO32, 10)
    burn = StateBlock(ZERO32, ZERO32, ZERO32, 10, source.hash, bytes(64)).worked(DEV.epoch_2)
    assert refused(ledger, burn) == errors.BURN_ACCOUNT == "Burning account"


def test_fork_on_same_previous_and_second_open(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    first = build(ledger, ALICE, 10, representative=pub(BOB))
    second = build(ledger, ALICE, 4, pub(BOB))
    ledger.process(first)
    assert refused(ledger, second) == errors.FORK
    assert refused(ledger, second, "send") == errors.FORK  # balance 4 < 10: pre-check passes
    source = fund(ledger, pub(ALICE), 5)
    reopen = build(ledger, ALICE, 5, source.hash, previous=ZERO32)
    assert refused(ledger, reopen) == errors.FORK


def test_gap_previous(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    unknown = build(ledger, ALICE, 9, pub(BOB), previous=bytes(range(32)))
    assert refused(ledger, unknown) == errors.GAP_PREVIOUS
    assert refused(ledger, unknown, "send") == errors.GAP_PREVIOUS
    # A new account whose previous is some other account's block.
    stray = build(ledger, BOB, 1, previous=ledger.accounts[pub(ALICE)].head)
    assert refused(ledger, stray) == errors.GAP_PREVIOUS


def test_gap_source(ledger: Ledger) -> None:
    no_link = build(ledger, ALICE, 0)
    assert refused(ledger, no_link) == errors.GAP_SOURCE
    unknown_source = build(ledger, ALICE, 10, bytes(range(32)))
    assert refused(ledger, unknown_source) == errors.GAP_SOURCE
    opened(ledger, ALICE, 10)
    assert refused(ledger, build(ledger, ALICE, 20, bytes(range(32)))) == errors.GAP_SOURCE


def test_unreceivable_send_to_someone_else(ledger: Ledger) -> None:
    to_bob = fund(ledger, pub(BOB), 10)
    assert refused(ledger, build(ledger, ALICE, 10, to_bob.hash)) == errors.UNRECEIVABLE


def test_receive_twice(ledger: Ledger) -> None:
    """Same block again: "Old block". A new block for the same send: "Unreceivable"."""
    source = fund(ledger, pub(ALICE), 10)
    opening = receive(ledger, ALICE, source)
    assert refused(ledger, opening, "receive") == errors.OLD
    assert refused(ledger, build(ledger, ALICE, 20, source.hash)) == errors.UNRECEIVABLE
    # Once the balance grew past the republished receive, the subtype pre-check answers first.
    receive(ledger, ALICE, fund(ledger, pub(ALICE), 3))
    assert refused(ledger, opening, "receive") == errors.SUBTYPE_BALANCE
    assert refused(ledger, opening) == errors.OLD


def test_duplicate_send(ledger: Ledger) -> None:
    """notes §4: a republished send with subtype "send" fails the pre-check, not "Old block"."""
    opened(ledger, ALICE, 10)
    spend = send(ledger, ALICE, pub(BOB), 4)
    assert refused(ledger, spend, "send") == errors.SUBTYPE_BALANCE
    assert refused(ledger, spend) == errors.OLD
    assert spend.hash in ledger.blocks


def test_balance_and_amount_delta(ledger: Ledger) -> None:
    source = fund(ledger, pub(ALICE), 10)
    assert refused(ledger, build(ledger, ALICE, 11, source.hash)) == errors.BALANCE_MISMATCH
    receive(ledger, ALICE, source)
    more = fund(ledger, pub(ALICE), 5)
    assert refused(ledger, build(ledger, ALICE, 14, more.hash)) == errors.BALANCE_MISMATCH
    # No link: the balance may not change (a raise without a source).
    assert refused(ledger, build(ledger, ALICE, 12)) == errors.BALANCE_MISMATCH


def test_epoch_blocks(ledger: Ledger) -> None:
    """Signed by the account: "Bad signature". Signed by the epoch signer (genesis): refused
    as out of position, because the peer treats every account as epoch 2 already."""
    opened(ledger, ALICE, 10)
    by_account = build(ledger, ALICE, 10, crypto.EPOCH_V2_LINK)
    assert refused(ledger, by_account, "epoch") == errors.BAD_SIGNATURE
    by_signer = by_account.signed(DEV_GENESIS_KEY)
    assert refused(ledger, by_signer, "epoch") == errors.BLOCK_POSITION


def test_a_send_then_receive_moves_funds(ledger: Ledger) -> None:
    opened(ledger, ALICE, 10)
    spend = send(ledger, ALICE, pub(BOB), 4)
    assert (pub(BOB), spend.hash) in ledger.pending
    got = receive(ledger, BOB, spend)
    assert ledger.blocks[got.hash].subtype == "receive"
    assert ledger.accounts[pub(BOB)].balance == 4
    assert ledger.accounts[pub(ALICE)].balance == 6
    assert ledger.blocks[spend.hash].subtype == "send"
    assert (pub(BOB), spend.hash) not in ledger.pending


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 50)), max_size=12))
def test_supply_is_conserved(moves: list[tuple[int, int, int]]) -> None:
    """Random sends and receives among three accounts never create or lose raw."""
    ledger = Ledger(DEV_GENESIS_KEY, 10**33)
    keys = [key(10 + i) for i in range(3)]
    for private_key in keys:
        opened(ledger, private_key, 100)
    for sender, receiver, wanted in moves:
        amount = min(wanted, ledger.accounts[pub(keys[sender])].balance)
        if amount == 0:
            continue
        spend = send(ledger, keys[sender], pub(keys[receiver]), amount)
        receive(ledger, keys[receiver], spend)
    ledger.assert_conservation()
    assert sum(ledger.accounts[pub(k)].balance for k in keys) == 300
