"""What the watcher writes, the signer reads: payloads, signed bytes, chain order, node answers."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from custody.chains import nano as chain
from custody.contract.templates import Template, TemplateKind, TemplateStatus
from custody.signer.chains.nano_payload import parse_payload
from custody.watcher.chains.nano_blocks import build_payload, chain_order, our_block
from custody.watcher.chains.nano_rpc import NanoRpc
from custody.watcher.chains.nano_settings import NanoNodeConfig
from custody.watcher.errors import NodeError, NodeUnavailable, TemplateError

REP = "nano_1stofnrxuz3cai7ze75o174bpm7scwj9jn3nxsn8ntzg784jf1gzn1jjdkou"


def block(previous: bytes, balance: int) -> chain.StateBlock:
    return chain.StateBlock(b"\x01" * 32, previous, chain.decode_account(REP), balance, b"\x07" * 32)


def template(payload: str, tid: str, signed: str | None = None) -> Template:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return Template(
        id=tid, currency="XNO", kind=TemplateKind.SWEEP, status=TemplateStatus.SIGNED,
        payload=payload, payload_hash="x", txid=None, replaces=None, withdrawals=[],
        signed_payload=signed, rejection=None, failure=None, block_hash=None, block_height=None,
        created_at=now, updated_at=now,
    )


def test_the_signer_parses_what_the_watcher_builds() -> None:
    previous = block(b"\x09" * 32, 10).with_signature(b"\x08" * 64).with_work(77)
    new = block(previous.hash, 4)
    text = build_payload("send", "m/44'/165'/3'", new, previous, 0xABCDEF)
    parsed = parse_payload(text)
    assert (parsed.subtype, parsed.path, parsed.work) == ("send", "m/44'/165'/3'", 0xABCDEF)
    assert parsed.block == new and parsed.previous == previous
    # Canonical: the same block built again is the same payload (and template).
    assert build_payload("send", "m/44'/165'/3'", new, previous, 0xABCDEF) == text
    assert json.loads(text)["block"] == new.to_json()


def test_signed_bytes_must_be_the_templates_block() -> None:
    new = block(b"\x09" * 32, 4)
    text = build_payload("send", "m/44'/165'/3'", new, None, 5)
    signed = new.with_signature(b"\x06" * 64)
    ours = our_block(template(text, "t1", signed.to_bytes().hex()))
    assert ours.block.signature == b"\x06" * 64 and ours.block.work == 5
    other = block(b"\x09" * 32, 3).with_signature(b"\x06" * 64)
    with pytest.raises(TemplateError, match="another block"):
        our_block(template(text, "t2", other.to_bytes().hex()))


def test_chain_order_follows_previous_links() -> None:
    first = block(b"\x09" * 32, 9)
    second = block(first.hash, 8)
    third = block(second.hash, 7)
    made = [template(build_payload("send", "m/44'/165'/0'", b, None, 1), f"t{n}")
            for n, b in enumerate([third, first, second])]
    ordered = chain_order(our_block(t) for t in made)
    assert [o.block for o in ordered] == [first.with_work(1), second.with_work(1),
                                          third.with_work(1)]


def rpc_answering(answer: object) -> NanoRpc:
    config = NanoNodeConfig(url="http://node", representative=REP, rpc_retries=2, rpc_backoff=0)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    return NanoRpc(config, transport=transport, sleep=lambda _: None)


@pytest.mark.parametrize("empty", ["", [], {}])
def test_empty_receivable_in_every_spelling(empty: object) -> None:
    assert rpc_answering({"blocks": empty}).accounts_receivable([b"\x01" * 32]) == {}


def test_node_errors_carry_the_nodes_text() -> None:
    with pytest.raises(NodeError) as error:
        rpc_answering({"error": "Fork"}).process(block(b"\x09" * 32, 1), "send")
    assert error.value.message == "Fork"
    assert rpc_answering({"error": "Block not found"}).block_info(b"\x02" * 32) is None
    assert rpc_answering({"error": "Account not found"}).account_info(b"\x02" * 32) is None


def test_malformed_answers_and_dead_nodes_are_unavailable() -> None:
    with pytest.raises(NodeUnavailable):
        rpc_answering({"frontier": "zz"}).account_info(b"\x02" * 32)
    config = NanoNodeConfig(url="http://node", representative=REP, rpc_retries=2, rpc_backoff=0)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rpc = NanoRpc(config, transport=httpx.MockTransport(refuse), sleep=lambda _: None)
    with pytest.raises(NodeUnavailable, match="after 2 tries"):
        rpc.block_info(b"\x02" * 32)


def test_work_below_the_difficulty_asked_is_refused() -> None:
    rpc = rpc_answering({"work": "0000000000000000", "hash": "00" * 32})
    with pytest.raises(NodeError, match="below the difficulty"):
        rpc.work_generate(b"\x02" * 32, 0xFFFFFFF800000000)
