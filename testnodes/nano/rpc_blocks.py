"""Node RPC actions about blocks: process, block_info, blocks_info, block_confirm, account_history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testnodes.nano import args, codec, errors
from testnodes.nano.args import Request
from testnodes.nano.block import parse_block
from testnodes.nano.codec import ZERO32
from testnodes.nano.errors import RpcError
from testnodes.nano.ledger import EPOCH_LINKS, Ledger, Stored
from testnodes.nano.state import PeerState

Answer = dict[str, Any]


def process(state: PeerState, request: Request) -> Answer:
    """Check and apply a block; {"hash"} or, with async, {"started": "1"} and no ledger verdict.

    `force` is ignored: the peer never forces fork resolution (a real node would roll back).
    """
    is_async = args.flag(request, "async")
    block = parse_block(args.required(request, "block"), args.flag(request, "json_block"))
    subtype = request.get("subtype") or None
    if subtype is not None and not isinstance(subtype, str):
        raise RpcError(errors.UNPARSABLE)
    state.ledger.precheck(block, subtype)
    if not is_async:
        return {"hash": codec.hex_upper(state.ledger.apply(block))}
    try:
        # The node queues the block and reports nothing; the peer applies it at once.
        state.ledger.apply(block)
    except RpcError:
        pass
    return {"started": "1"}


def block_info(state: PeerState, request: Request) -> Answer:
    stored = _stored(state.ledger, args.block_hash(request))
    return _block_entry(state.ledger, stored, request)


def block_confirm(state: PeerState, request: Request) -> Answer:
    """Always {"started": "1"} for a known block; confirmation still follows the peer's policy."""
    _stored(state.ledger, args.block_hash(request))
    return {"started": "1"}


def blocks_info(state: PeerState, request: Request) -> Answer:
    receivable = args.flag(request, "receivable", args.flag(request, "pending"))
    receive_hash = args.flag(request, "receive_hash")
    source = args.flag(request, "source")
    include_not_found = args.flag(request, "include_not_found")
    blocks: dict[str, Any] = {}
    not_found: list[str] = []
    for text in args.string_list(request, "hashes"):
        hash_ = args.hash_text(text)
        if hash_ not in state.ledger.blocks:
            if not include_not_found:
                raise RpcError(errors.BLOCK_NOT_FOUND)
            not_found.append(text)
            continue
        entry = _block_entry(state.ledger, state.ledger.blocks[hash_], request)
        entry.update(_send_state(state.ledger, hash_, receivable, receive_hash))
        if source:
            entry["source_account"] = _source_account(state.ledger, state.ledger.blocks[hash_])
        blocks[text] = entry
    answer: Answer = {"blocks": args.tree(blocks)}
    if include_not_found:
        answer["blocks_not_found"] = args.tree(not_found)
    return answer


def _stored(ledger: Ledger, hash_: bytes) -> Stored:
    stored = ledger.blocks.get(hash_)
    if stored is None:
        raise RpcError(errors.BLOCK_NOT_FOUND)
    return stored


def _block_entry(ledger: Ledger, stored: Stored, request: Request) -> Answer:
    block = stored.block
    entry: Answer = {"block_account": codec.account_encode(block.account)}
    if args.flag(request, "include_linked_account"):
        entry["linked_account"] = _linked_account(ledger, stored)
    entry.update(
        amount=str(stored.amount),
        balance=str(block.balance),
        height=str(stored.height),
        local_timestamp=str(stored.timestamp),
        successor=codec.hex_upper(ledger.successor(block.hash)),
        confirmed="true" if ledger.is_confirmed(block.hash) else "false",
    )
    json_block = args.flag(request, "json_block")
    entry["contents"] = block.to_json() if json_block else block.to_json_text()
    entry["subtype"] = stored.subtype
    return entry


def _linked_account(ledger: Ledger, stored: Stored) -> str:
    if stored.subtype == "send":
        return codec.account_encode(stored.block.link)
    return _source_account(ledger, stored)


def _source_account(ledger: Ledger, stored: Stored) -> str:
    link = stored.block.link
    if stored.subtype != "receive" or link not in ledger.blocks:
        return "0"
    return codec.account_encode(ledger.blocks[link].block.account)


def _send_state(ledger: Ledger, hash_: bytes, receivable: bool, receive_hash: bool) -> Answer:
    """blocks_info's receivable / receive_hash fields for one block."""
    stored = ledger.blocks[hash_]
    owed = stored.subtype == "send" and (stored.block.link, hash_) in ledger.pending
    answer: Answer = {}
    if receivable:
        answer["pending"] = answer["receivable"] = "1" if owed else "0"
    if receive_hash:
        found = ZERO32
        if stored.subtype == "send" and not owed:
            found = _receive_of(ledger, stored.block.link, hash_)
        answer["receive_hash"] = codec.hex_upper(found)
    return answer


def _receive_of(ledger: Ledger, account: bytes, send: bytes) -> bytes:
    for hash_ in ledger.chains.get(account, []):
        stored = ledger.blocks[hash_]
        if stored.subtype == "receive" and stored.block.link == send:
            return hash_
    return ZERO32


def account_history(state: PeerState, request: Request) -> Answer:
    """Newest first (or oldest first with reverse); send/receive only unless raw."""
    ledger = state.ledger
    count = args.count_required(request)
    offset = args.offset_optional(request)
    reverse = args.flag(request, "reverse")
    raw = args.flag(request, "raw")
    only = [args.account_text(a) for a in request.get("account_filter", [])]
    account, hash_ = _history_start(ledger, request, reverse)
    history: list[Answer] = []
    while hash_ in ledger.blocks and count > 0:
        stored = ledger.blocks[hash_]
        if offset > 0:
            offset -= 1
        elif entry := _history_entry(ledger, stored, raw, only):
            history.append(entry)
            count -= 1
        hash_ = ledger.successor(hash_) if reverse else stored.block.previous
    answer: Answer = {"account": codec.account_encode(account), "history": args.tree(history)}
    if hash_ != ZERO32:
        answer["next" if reverse else "previous"] = codec.hex_upper(hash_)
    return answer


def _history_start(ledger: Ledger, request: Request, reverse: bool) -> tuple[bytes, bytes]:
    if "head" in request:
        hash_ = args.hash_text(args.text(request, "head"))
        return _stored(ledger, hash_).block.account, hash_
    account = args.account(request)
    info = ledger.accounts.get(account)
    if reverse:
        if info is None:
            raise RpcError(errors.ACCOUNT_NOT_FOUND)
        return account, info.open_block
    return account, info.head if info else ZERO32


def _history_entry(ledger: Ledger, stored: Stored, raw: bool, only: list[bytes]) -> Answer:
    """history_visitor::state_block, then the common fields; {} when the block is left out."""
    block = stored.block
    entry: Answer = {}
    if raw:
        entry.update(
            type="state",
            representative=codec.account_encode(block.representative),
            link=codec.hex_upper(block.link),
            balance=str(block.balance),
            previous=codec.hex_upper(block.previous),
        )
    kind = "subtype" if raw else "type"
    previous_balance = 0 if block.is_open else ledger.blocks[block.previous].block.balance
    if block.balance < previous_balance:
        if only and block.link not in only:
            return {}
        entry.update({kind: "send", "account": codec.account_encode(block.link)})
        entry["amount"] = str(previous_balance - block.balance)
    elif block.link == ZERO32:
        if raw and not only:
            entry[kind] = "change"
    elif block.balance == previous_balance and block.link in EPOCH_LINKS:
        if raw and not only:
            entry.update({kind: "epoch", "account": codec.account_encode(ledger.epoch_signer)})
    else:
        source = ledger.blocks[block.link].block.account if block.link in ledger.blocks else None
        if source is not None and only and source not in only:
            return {}
        entry[kind] = "receive"
        if source is not None:
            entry["account"] = codec.account_encode(source)
        entry["amount"] = str(block.balance - previous_balance)
    return _history_common(ledger, stored, entry, raw) if entry else {}


def _history_common(ledger: Ledger, stored: Stored, entry: Answer, raw: bool) -> Answer:
    entry.update(
        local_timestamp=str(stored.timestamp),
        height=str(stored.height),
        hash=codec.hex_upper(stored.block.hash),
        confirmed="true" if ledger.is_confirmed(stored.block.hash) else "false",
    )
    if raw:
        entry["work"] = codec.work_hex(stored.block.work)
        entry["signature"] = codec.hex_upper(stored.block.signature)
    return entry


HANDLERS: dict[str, Callable[[PeerState, Request], Answer]] = {
    "process": process,
    "block_info": block_info,
    "block": block_info,
    "blocks_info": blocks_info,
    "block_confirm": block_confirm,
    "account_history": account_history,
}
