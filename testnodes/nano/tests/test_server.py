"""The peer over a real socket: node-shaped JSON answers, all numbers as strings.

A client here does what a watcher does: it reads account_info, builds and signs a block
(with the peer's own signer), publishes it with `process` and polls for confirmation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from testnodes.nano import codec, crypto, errors
from testnodes.nano.block import StateBlock
from testnodes.nano.codec import ZERO32
from testnodes.nano.server import RunningPeer, start_peer
from testnodes.nano.tests.client import Rpc, build, fund, open_account, publish
from testnodes.nano.tests.helpers import key, pub

ALICE, BOB = key(1), key(2)
A_ALICE, A_BOB = codec.account_encode(pub(ALICE)), codec.account_encode(pub(BOB))


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


# -- shapes ------------------------------------------------------------------------------------


def test_empty_answers_are_empty_strings(rpc: Rpc) -> None:
    assert rpc("receivable", account=A_ALICE) == {"blocks": ""}
    assert rpc("receivable", account=A_ALICE, threshold="1", source=True) == {"blocks": ""}
    assert rpc("accounts_receivable", accounts=[A_ALICE, A_BOB]) == {"blocks": ""}
    history = rpc("account_history", account=A_ALICE, count="5")
    assert history == {"account": A_ALICE, "history": ""}
    missing = "AB" * 32
    answer = rpc("blocks_info", hashes=[missing], include_not_found=True)
    assert answer == {"blocks": "", "blocks_not_found": [missing]}


def test_receivable_shapes(rpc: Rpc) -> None:
    small, large = fund(rpc, A_ALICE, 5), fund(rpc, A_ALICE, 50)
    rpc("peer_confirm_all")
    assert rpc("receivable", account=A_ALICE) == {"blocks": sorted([small, large])}
    assert rpc("receivable", account=A_ALICE, count="1")["blocks"] == [min(small, large)]
    assert rpc("receivable", account=A_ALICE, threshold="10") == {"blocks": {large: "50"}}
    sources = rpc("receivable", account=A_ALICE, source=True, sorting=True)["blocks"]
    genesis = rpc("peer_info")["genesis_account"]
    assert list(sources) == [large, small]  # sorted by amount, largest first
    assert sources[small] == {"amount": "5", "source": genesis}
    pending = rpc("pending", account=A_ALICE)
    assert pending["deprecated"] == "1" and pending["blocks"] == sorted([small, large])


def test_receivable_only_confirmed_by_default(rpc: Rpc) -> None:
    rpc("peer_hold_confirmations", hold=True)
    send = fund(rpc, A_ALICE, 7)
    assert rpc("receivable", account=A_ALICE) == {"blocks": ""}
    assert rpc("receivable", account=A_ALICE, include_only_confirmed=False) == {"blocks": [send]}
    assert rpc("receivable_exists", hash=send) == {"exists": "0"}
    rpc("peer_hold_confirmations", hold=False)
    assert rpc("receivable", account=A_ALICE) == {"blocks": [send]}
    assert rpc("receivable_exists", hash=send) == {"exists": "1"}


def test_accounts_receivable_leaves_out_empty_accounts(rpc: Rpc) -> None:
    send = fund(rpc, A_BOB, 9)
    answer = rpc("accounts_receivable", accounts=[A_ALICE, A_BOB])
    assert answer == {"blocks": {A_BOB: [send]}}
    with_source = rpc("accounts_receivable", accounts=[A_ALICE, A_BOB], source=True)
    assert with_source["blocks"][A_BOB][send]["amount"] == "9"
    xrb = "xrb_" + A_BOB[5:]
    assert rpc("accounts_receivable", accounts=[xrb])["blocks"] == {A_BOB: [send]}
    assert rpc("accounts_receivable", accounts=["nano_bad"]) == {"error": errors.BAD_ACCOUNT}


def test_account_info_shapes(rpc: Rpc) -> None:
    assert rpc("account_info", account=A_ALICE) == {"error": errors.ACCOUNT_NOT_FOUND}
    opening = open_account(rpc, ALICE, 30)
    plain = rpc("account_info", account=A_ALICE)
    assert list(plain) == [
        "frontier", "open_block", "representative_block", "balance", "modified_timestamp",
        "block_count", "account_version", "confirmation_height", "confirmation_height_frontier",
    ]  # fmt: skip
    assert plain["frontier"] == plain["open_block"] == opening
    assert (plain["balance"], plain["block_count"]) == ("30", "1")
    rpc("peer_hold_confirmations", hold=True)
    send = publish(rpc, build(rpc, ALICE, -10, pub(BOB)), "send")["hash"]
    full = rpc("account_info", account=A_ALICE, representative=True, include_confirmed=True)
    assert "confirmation_height" not in full
    assert full["frontier"] == send and full["balance"] == "20"  # unconfirmed, as on a node
    assert (full["confirmed_frontier"], full["confirmed_height"]) == (opening, "1")
    assert full["confirmed_balance"] == "30"
    assert full["representative"] == full["confirmed_representative"] == A_ALICE


def test_block_info_shapes(rpc: Rpc) -> None:
    source = fund(rpc, A_ALICE, 12)
    rpc("peer_confirm_all")
    block = build(rpc, ALICE, 12, bytes.fromhex(source))
    opening_hash = publish(rpc, block, "open")["hash"]
    info = rpc("block_info", hash=opening_hash, json_block=True)
    assert info["block_account"] == A_ALICE
    assert (info["amount"], info["balance"], info["height"]) == ("12", "12", "1")
    assert info["subtype"] == "receive"  # an open shows as receive
    assert info["successor"] == "0" * 64
    assert info["contents"] == block.to_json()
    text = rpc("block_info", hash=opening_hash)["contents"]
    assert isinstance(text, str) and json.loads(text) == block.to_json()
    send_info = rpc("block_info", hash=source)
    assert send_info["subtype"] == "send" and send_info["successor"] == "0" * 64
    assert rpc("block_info", hash="00" * 32) == {"error": errors.BLOCK_NOT_FOUND}
    assert rpc("block_info", hash="xyz") == {"error": errors.INVALID_BLOCK_HASH}
    many = rpc("blocks_info", hashes=[source, opening_hash], receivable=True, source=True)
    assert many["blocks"][source]["receivable"] == "0"  # already received
    assert many["blocks"][opening_hash]["source_account"] == rpc("peer_info")["genesis_account"]
    assert rpc("blocks_info", hashes=["00" * 32]) == {"error": errors.BLOCK_NOT_FOUND}
    assert rpc("blocks_info", hashes=["bad"]) == {"error": errors.BAD_HASH_NUMBER}


def test_account_history_pages_newest_first(rpc: Rpc) -> None:
    opening = open_account(rpc, ALICE, 30)
    change = publish(rpc, build(rpc, ALICE, 0, rep=pub(BOB)), "change")["hash"]
    send = publish(rpc, build(rpc, ALICE, -10, pub(BOB)), "send")["hash"]
    first = rpc("account_history", account=A_ALICE, count="1")
    assert [e["hash"] for e in first["history"]] == [send]
    assert first["history"][0]["type"] == "send" and first["history"][0]["account"] == A_BOB
    assert first["previous"] == change
    rest = rpc("account_history", account=A_ALICE, count="5", head=first["previous"])
    assert [e["type"] for e in rest["history"]] == ["receive"]  # change left out, open=receive
    assert "previous" not in rest
    raw = rpc("account_history", account=A_ALICE, count="5", raw=True, reverse=True)
    assert [e["subtype"] for e in raw["history"]] == ["receive", "change", "send"]
    assert raw["history"][0]["hash"] == opening
    assert rpc("account_history", account=A_ALICE) == {"error": errors.UNPARSABLE}
    assert rpc("account_history", account=A_ALICE, count="0") == {"error": errors.INVALID_COUNT}


def test_process_forms_and_async(rpc: Rpc) -> None:
    source = fund(rpc, A_ALICE, 10)
    rpc("peer_confirm_all")
    block = build(rpc, ALICE, 10, bytes.fromhex(source))
    text = rpc("process", block=block.to_json_text(), subtype="open")
    assert text == {"hash": codec.hex_upper(block.hash)}
    assert rpc("process", block=block.to_json()) == {"error": errors.BLOCK_INVALID}
    late = build(rpc, ALICE, -3, pub(BOB))
    assert rpc("process", **{"json_block": "true", "async": "true", "block": late.to_json()}) == {
        "started": "1"
    }
    assert rpc("block_info", hash=codec.hex_upper(late.hash))["block_account"] == A_ALICE
    # Async hides ledger verdicts (Old block here) but not the pre-checks.
    again = {"json_block": True, "async": True, "block": late.to_json()}
    assert rpc("process", **again) == {"started": "1"}
    assert rpc("process", **again, subtype="send") == {"error": errors.SUBTYPE_BALANCE}


def test_work_generate_and_validate(rpc: Rpc) -> None:
    root = "11" * 32
    generated = rpc("work_generate", hash=root)
    assert list(generated) == ["hash", "work", "difficulty", "multiplier"]
    assert int(generated["difficulty"], 16) >= crypto.DEV.epoch_2
    receive = rpc("work_generate", hash=root, subtype="receive")
    assert int(receive["difficulty"], 16) >= crypto.DEV.epoch_2_receive
    below = rpc("work_generate", hash=root, difficulty="e000000000000000")
    assert below == {"error": errors.DIFFICULTY_LIMIT}
    checked = rpc("work_validate", hash=root, work=generated["work"])
    assert "valid" not in checked and checked["valid_all"] == checked["valid_receive"] == "1"
    assert checked["difficulty"] == generated["difficulty"]
    strict = rpc("work_validate", hash=root, work=generated["work"], difficulty="ffffffffffffffff")
    assert strict["valid"] == "0"
    block = StateBlock(pub(ALICE), ZERO32, pub(ALICE), 1, pub(BOB))
    mismatch = rpc("work_generate", hash=root, json_block=True, block=block.to_json())
    assert mismatch == {"error": errors.BLOCK_ROOT_MISMATCH}


def test_block_confirm_and_errors(rpc: Rpc, peer: RunningPeer) -> None:
    send = fund(rpc, A_ALICE, 1)
    assert rpc("block_confirm", hash=send) == {"started": "1"}
    assert rpc("block_confirm", hash="00" * 32) == {"error": errors.BLOCK_NOT_FOUND}
    assert rpc("no_such_action") == {"error": errors.UNKNOWN_COMMAND}
    assert rpc("account_info") == {"error": errors.UNPARSABLE}
    raw = httpx.post(peer.url, content=b"{not json")
    assert raw.json() == {"error": errors.UNPARSABLE}
    assert raw.headers["content-type"] == "application/json"


def test_all_numbers_are_strings(rpc: Rpc) -> None:
    opening = open_account(rpc, ALICE, 30)
    answers = [
        rpc("account_info", account=A_ALICE, representative=True, include_confirmed=True,
            weight=True, receivable=True),
        rpc("block_info", hash=opening, json_block=True),
        rpc("blocks_info", hashes=[opening], json_block=True, receivable=True, source=True),
        rpc("account_history", account=A_ALICE, count="3", raw=True),
        rpc("receivable", account=A_BOB, threshold="1"),
        rpc("work_validate", hash=opening, work="1"),
        rpc("peer_info"),
    ]  # fmt: skip
    for answer in answers:
        assert "error" not in answer
        assert all(isinstance(leaf, str) for leaf in leaves(answer)), answer


def test_fund_refuses_more_than_genesis_holds() -> None:
    with start_peer(genesis_balance=100) as small:
        client = Rpc(small.url)
        assert client("peer_fund", account=A_ALICE, amount="101")["error"].startswith("peer:")
        assert "hash" in client("peer_fund", account=A_ALICE, amount="100")
        client.close()


def test_command_line_peer() -> None:
    command = [sys.executable, "-m", "testnodes.nano", "--port", "0", "--genesis-balance", "1000"]
    root = Path(__file__).resolve().parents[3]  # where `testnodes` is importable from
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # printed once the socket listens
            assert line.startswith("listening on 127.0.0.1:")
            client = Rpc("http://" + line.removeprefix("listening on "))
            assert client("peer_info")["supply"] == "1000"
            client.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
