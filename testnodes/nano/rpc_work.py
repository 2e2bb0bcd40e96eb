"""Node RPC work actions: work_generate (a Python nonce loop) and work_validate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testnodes.nano import args, codec, crypto, errors
from testnodes.nano.args import Request
from testnodes.nano.block import StateBlock, parse_block
from testnodes.nano.codec import ZERO32
from testnodes.nano.errors import RpcError
from testnodes.nano.state import PeerState

Answer = dict[str, Any]
MAX_MULTIPLIER = 64.0  # the node's default max_work_generate_multiplier
# Peer extension: the node has no `subtype` here (it takes `difficulty` or a `block`).
SUBTYPE_RECEIVE = ("receive", "open", "epoch")
SUBTYPE_SEND = ("send", "change")


def work_generate(state: PeerState, request: Request) -> Answer:
    """Work for `hash` at `difficulty` (default: the send/change threshold).

    Also takes `multiplier`, `block` (difficulty then follows the block as the ledger sees
    it) and, as a peer extension, `subtype`. Refuses difficulties below the entry threshold.
    """
    thresholds = state.ledger.thresholds
    if "account" in request:
        args.account(request)
    _check_version(request)
    root = args.block_hash(request)
    difficulty = _requested_difficulty(state, request)
    limit = crypto.from_multiplier(MAX_MULTIPLIER, thresholds.epoch_2)
    if not thresholds.entry <= difficulty <= limit:
        raise RpcError(errors.DIFFICULTY_LIMIT)
    if "block" in request:
        difficulty = _block_difficulty(state, request, root, difficulty)
    work = crypto.work_generate(root, difficulty)
    value = crypto.work_value(work, root)
    return {
        "hash": codec.hex_upper(root),
        "work": codec.work_hex(work),
        "difficulty": codec.work_hex(value),
        "multiplier": _multiplier(value, thresholds.epoch_2),
    }


def _requested_difficulty(state: PeerState, request: Request) -> int:
    thresholds = state.ledger.thresholds
    difficulty = args.hex64_optional(
        request, "difficulty", thresholds.epoch_2, errors.BAD_DIFFICULTY
    )
    if "multiplier" in request:
        try:
            multiplier = float(args.text(request, "multiplier"))
        except ValueError as e:
            raise RpcError(errors.BAD_MULTIPLIER) from e
        if not multiplier > 0:
            raise RpcError(errors.BAD_MULTIPLIER)
        difficulty = crypto.from_multiplier(multiplier, thresholds.epoch_2)
    if "subtype" in request and not ("difficulty" in request or "multiplier" in request):
        subtype = args.text(request, "subtype")
        if subtype in SUBTYPE_RECEIVE:
            difficulty = thresholds.epoch_2_receive
        elif subtype not in SUBTYPE_SEND:
            raise RpcError(errors.SUBTYPE_UNKNOWN)
    return difficulty


def _block_difficulty(state: PeerState, request: Request, root: bytes, difficulty: int) -> int:
    block = parse_block(request["block"], args.flag(request, "json_block"))
    if block.root != root:
        raise RpcError(errors.BLOCK_ROOT_MISMATCH)
    if not ("difficulty" in request or "multiplier" in request):
        with state.lock:
            difficulty = _ledger_difficulty(state, block)
    if crypto.work_value(block.work, root) >= difficulty:
        raise RpcError(errors.BLOCK_WORK_ENOUGH)
    return difficulty


def _ledger_difficulty(state: PeerState, block: StateBlock) -> int:
    """json_handler::difficulty_ledger: receive threshold only for a block that can receive."""
    ledger = state.ledger
    thresholds = ledger.thresholds
    previous = ledger.blocks.get(block.previous) if not block.is_open else None
    is_send = previous is not None and previous.block.balance > block.balance
    can_receive = block.link in ledger.blocks and (block.account, block.link) in ledger.pending
    if block.link != ZERO32 and not is_send and can_receive:
        return thresholds.epoch_2_receive
    return thresholds.epoch_2


def work_validate(state: PeerState, request: Request) -> Answer:
    """valid_all / valid_receive / difficulty / multiplier; `valid` only if difficulty was given."""
    thresholds = state.ledger.thresholds
    root = args.block_hash(request)
    work = args.hex64_optional(request, "work", 0, errors.BAD_WORK)
    _check_version(request)
    difficulty = _requested_difficulty(state, {k: v for k, v in request.items() if k != "subtype"})
    value = crypto.work_value(work, root)
    answer: Answer = {}
    if "difficulty" in request:
        answer["valid"] = "1" if value >= difficulty else "0"
    answer["valid_all"] = "1" if value >= thresholds.epoch_2 else "0"
    answer["valid_receive"] = "1" if value >= thresholds.epoch_2_receive else "0"
    answer["difficulty"] = codec.work_hex(value)
    answer["multiplier"] = _multiplier(value, thresholds.epoch_2)
    return answer


def _check_version(request: Request) -> None:
    if "version" in request and args.text(request, "version") != "work_1":
        raise RpcError(errors.BAD_WORK_VERSION)


def _multiplier(value: int, base: int) -> str:
    return repr(crypto.to_multiplier(value, base))


HANDLERS: dict[str, Callable[[PeerState, Request], Answer]] = {
    "work_generate": work_generate,
    "work_validate": work_validate,
}
