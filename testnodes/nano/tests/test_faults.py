"""Fault switches over a real socket: lost replies, late or missing confirmations, forks.

Each test tells one story a watcher must survive: `process` applied but its answer lost, a
block that confirms late or never, and a competing block that wins the account's frontier.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testnodes.nano import codec, errors
from testnodes.nano.block import StateBlock
from testnodes.nano.server import RunningPeer
from testnodes.nano.tests.client import Rpc, build, confirmed, fund, open_account, publish
from testnodes.nano.tests.helpers import MAX_WORK, key, pub, wait_until

ALICE, BOB = key(1), key(2)
A_ALICE, A_BOB = codec.account_encode(pub(ALICE)), codec.account_encode(pub(BOB))


def test_drop_next_reply_applies_the_block(rpc: Rpc) -> None:
    source = fund(rpc, A_ALICE, 10)
    rpc("peer_confirm_all")
    block = build(rpc, ALICE, 10, bytes.fromhex(source))
    rpc("peer_drop_next_reply")
    with pytest.raises(httpx.TransportError):
        publish(rpc, block, "open")
    hash_ = codec.hex_upper(block.hash)
    assert rpc("block_info", hash=hash_)["block_account"] == A_ALICE  # it was applied
    assert publish(rpc, block, "open") == {"error": errors.OLD}  # and the next reply arrives


def test_confirmation_delay_over_http(rpc: Rpc) -> None:
    rpc("peer_set_confirmation_delay", seconds="0.3")
    send = fund(rpc, A_ALICE, 10)
    assert not confirmed(rpc, send)
    wait_until(lambda: confirmed(rpc, send))


def test_hold_all_confirmations_then_release(rpc: Rpc) -> None:
    rpc("peer_hold_confirmations", hold=True)
    send = fund(rpc, A_ALICE, 10)
    assert rpc("peer_confirm_all") == {"confirmed": ""}
    assert not confirmed(rpc, send)
    rpc("peer_hold_confirmations", hold=False)
    assert confirmed(rpc, send)


def test_a_held_hash_never_confirms(rpc: Rpc) -> None:
    rpc("peer_hold_confirmations", hold=True)  # while the test learns the hash
    send = fund(rpc, A_ALICE, 10)
    rpc("peer_hold_confirmations", hold=True, hashes=[send])
    rpc("peer_hold_confirmations", hold=False)
    later = fund(rpc, A_BOB, 10)
    assert rpc("peer_confirm_all") == {"confirmed": ""}
    assert not confirmed(rpc, send) and not confirmed(rpc, later)  # chain order
    rpc("peer_hold_confirmations", hold=False, hashes=[send])
    assert confirmed(rpc, send) and confirmed(rpc, later)


def test_fork_on_the_frontier_makes_the_client_block_a_fork(rpc: Rpc) -> None:
    open_account(rpc, ALICE, 30)
    mine = build(rpc, ALICE, -10, pub(BOB))  # stored by the client, not yet published
    key_hex = codec.hex_upper(ALICE)
    competitor = rpc("peer_fork_frontier", account=A_ALICE, private_key=key_hex)
    assert competitor["rolled_back"] == ""
    assert publish(rpc, mine, "send") == {"error": errors.FORK}
    assert rpc("block_info", hash=codec.hex_upper(mine.hash)) == {"error": errors.BLOCK_NOT_FOUND}
    assert rpc("account_info", account=A_ALICE)["frontier"] == competitor["hash"]
    assert confirmed(rpc, competitor["hash"])


def test_fork_with_rollback_replaces_the_unconfirmed_frontier(rpc: Rpc) -> None:
    open_account(rpc, ALICE, 30)
    rpc("peer_hold_confirmations", hold=True)
    mine = publish(rpc, build(rpc, ALICE, -10, pub(BOB)), "send")["hash"]
    fork = rpc("peer_fork_frontier", account=A_ALICE, private_key=codec.hex_upper(ALICE),
               rollback=True)  # fmt: skip
    assert fork["rolled_back"] == [mine]
    assert rpc("block_info", hash=mine) == {"error": errors.BLOCK_NOT_FOUND}
    assert rpc("receivable", account=A_BOB, include_only_confirmed=False) == {"blocks": ""}
    info = rpc("account_info", account=A_ALICE)
    assert (info["frontier"], info["balance"]) == (fork["hash"], "30")
    rpc("peer_hold_confirmations", hold=False)
    assert confirmed(rpc, fork["hash"])


def test_fork_with_rollback_of_an_open_block(rpc: Rpc) -> None:
    """The competitor of an open receives the same send; only the representative differs."""
    rpc("peer_set_confirmation_delay", seconds="60")  # the open must stay unconfirmed
    opening = open_account(rpc, ALICE, 30)
    fork = rpc("peer_fork_frontier", account=A_ALICE, private_key=codec.hex_upper(ALICE),
               rollback=True)  # fmt: skip
    assert fork["rolled_back"] == [opening]
    info = rpc("account_info", account=A_ALICE, representative=True)
    assert (info["open_block"], info["balance"]) == (fork["hash"], "30")
    assert info["representative"] != A_ALICE


def test_competing_blocks_published_at_once(peer: RunningPeer, rpc: Rpc) -> None:
    """Many clients, one frontier: exactly one block applies, every other one is a Fork."""
    open_account(rpc, ALICE, 30)
    blocks = [build(rpc, ALICE, -amount, pub(BOB)) for amount in range(1, 9)]
    clients = [Rpc(peer.url) for _ in blocks]
    with ThreadPoolExecutor(len(blocks)) as pool:
        answers = list(pool.map(publish, clients, blocks))
    for client in clients:
        client.close()
    assert sum("hash" in answer for answer in answers) == 1
    assert sorted(a.get("error", "") for a in answers) == [""] + [errors.FORK] * 7


def test_fork_with_a_pre_signed_block(rpc: Rpc) -> None:
    open_account(rpc, ALICE, 30)
    rpc("peer_hold_confirmations", hold=True)
    mine = publish(rpc, build(rpc, ALICE, -10, pub(BOB)), "send")["hash"]
    info = rpc("account_info", account=A_ALICE)
    theirs = StateBlock(pub(ALICE), bytes.fromhex(info["open_block"]), pub(ALICE), 25, pub(BOB))
    theirs = theirs.signed(ALICE).worked(MAX_WORK)
    answer = rpc("peer_fork_frontier", account=A_ALICE, block=theirs.to_json())
    assert answer == {"hash": codec.hex_upper(theirs.hash), "rolled_back": [mine]}
    assert rpc("receivable", account=A_BOB, include_only_confirmed=False)["blocks"] == [
        codec.hex_upper(theirs.hash)
    ]


def test_fork_cannot_roll_back_a_confirmed_block(rpc: Rpc) -> None:
    opening = open_account(rpc, ALICE, 30)
    rpc("peer_confirm_all")
    answer = rpc("peer_fork_frontier", account=A_ALICE, private_key=codec.hex_upper(ALICE),
                 rollback=True)  # fmt: skip
    assert answer["error"].startswith("peer:")
    assert rpc("account_info", account=A_ALICE)["frontier"] == opening
    wrong_key = rpc("peer_fork_frontier", account=A_ALICE, private_key=codec.hex_upper(BOB))
    assert wrong_key["error"].startswith("peer:")
