"""Test-control actions (`peer_*`): funding, confirmation timing and fault switches.

None of these exist on a real node. Each answers node-shaped JSON; errors start with "peer:".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testnodes.nano import args, codec, crypto, errors
from testnodes.nano.args import Request
from testnodes.nano.block import StateBlock, parse_block
from testnodes.nano.codec import ZERO32
from testnodes.nano.confirm import advance
from testnodes.nano.errors import RpcError
from testnodes.nano.ledger import Ledger
from testnodes.nano.state import PeerState

Answer = dict[str, Any]
# Representative of the blocks peer_fork_frontier builds, so they differ from the client's.
FORK_REPRESENTATIVE = crypto.public_key(crypto.blake2b_256(b"nano test peer fork representative"))


def peer_info(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_info"}: genesis account and supply, thresholds, confirmation switches."""
    ledger, policy, limits = state.ledger, state.policy, state.ledger.thresholds
    return {
        "genesis_account": codec.account_encode(ledger.genesis_account),
        "supply": str(ledger.supply),
        "thresholds": {
            name: codec.work_hex(getattr(limits, name))
            for name in ("epoch_1", "epoch_2", "epoch_2_receive", "entry")
        },
        "confirmation_delay": repr(policy.delay),
        "hold_all": "true" if policy.hold_all else "false",
        "held": args.tree(sorted(codec.hex_upper(h) for h in policy.held)),
        "block_count": str(len(ledger.blocks)),
    }


def peer_fund(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_fund", "account": A, "amount": RAW}: a send from genesis to A.

    A real send block signed by the genesis key, with work, through the same checks as
    `process`; it confirms like any other block. Answers {"hash": send hash}.
    """
    ledger = state.ledger
    destination = args.account(request)
    amount = _decimal(request, "amount")
    genesis = ledger.accounts[ledger.genesis_account]
    if not 0 < amount <= genesis.balance:
        raise RpcError(f"peer: cannot fund {amount} raw, genesis holds {genesis.balance}")
    block = StateBlock(
        ledger.genesis_account,
        genesis.head,
        genesis.representative,
        genesis.balance - amount,
        destination,
    )
    block = block.signed(state.genesis_key).worked(ledger.thresholds.epoch_2)
    return {"hash": codec.hex_upper(ledger.process(block, "send"))}


def peer_set_confirmation_delay(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_set_confirmation_delay", "seconds": "0.5"}: delay before a block confirms.

    Applies to blocks already waiting too (the delay is counted from each block's arrival).
    """
    try:
        seconds = float(args.text(request, "seconds"))
    except ValueError as e:
        raise RpcError("peer: seconds must be a number") from e
    if not seconds >= 0:
        raise RpcError("peer: seconds must be >= 0")
    state.policy.delay = seconds
    return {"success": ""}


def peer_confirm_all(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_confirm_all"}: confirm all that can confirm now, ignoring the delay.

    Chain order and holds still apply. Answers {"confirmed": [hashes in order]} ("" if none).
    """
    confirmed = advance(state.ledger, state.policy, ignore_delay=True)
    return {"confirmed": args.tree([codec.hex_upper(h) for h in confirmed])}


def peer_hold_confirmations(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_hold_confirmations", "hold": true, ["hashes": [H, ...]]}.

    Without hashes: hold (or release) every confirmation; blocks then confirm late, when
    released. With hashes: those blocks never confirm while held, nor anything after them
    in their account, nor receives of them.
    """
    hold = args.flag(request, "hold", True)
    if "hashes" not in request:
        state.policy.hold_all = hold
        return {"success": ""}
    hashes = {args.hash_text(text) for text in args.string_list(request, "hashes")}
    if hold:
        state.policy.held |= hashes
    else:
        state.policy.held -= hashes
    return {"success": ""}


def peer_drop_next_reply(state: PeerState, request: Request) -> Answer:
    """{"action": "peer_drop_next_reply", ["for_action": "process"], ["count": "1"]}.

    The next `count` requests for that action are carried out (a `process` applies its
    block) and then the connection is closed without an answer, like a reply lost to a
    timeout. Later requests are answered normally.
    """
    action = args.text(request, "for_action") if "for_action" in request else "process"
    count = args.unsigned(request, "count", 1, "peer: bad count")
    state.faults.drop_replies[action] = count
    return {"success": ""}


def peer_fork_frontier(state: PeerState, request: Request) -> Answer:
    """A competing block on an account's chain that wins at once.

    {"action": "peer_fork_frontier", "account": A, "private_key": HEX, ["rollback": true],
     ["representative": R], ["balance": RAW], ["link": HEX or address]}
      The peer builds and signs the block itself. Without rollback it is built on the
      frontier, so a client block built on that same frontier then gets "Fork". With
      rollback it is built on the frontier's previous and the frontier is rolled back, as
      if it lost the election: block_info on it then answers "Block not found". By default
      the block only changes the representative (an open keeps its source).
    {"action": "peer_fork_frontier", "account": A, "block": {...}}
      A pre-signed block; every block of A after its previous is rolled back.
    Rolled-back blocks must be unconfirmed, and a rolled-back send must not be received.
    The new block passes the normal checks and confirms like any other.
    Answers {"hash": new block, "rolled_back": [hashes, newest first] or ""}.
    """
    ledger = state.ledger
    account = args.account(request)
    if account not in ledger.accounts:
        raise RpcError(errors.ACCOUNT_NOT_FOUND)
    if "block" in request:
        block = parse_block(request["block"], isinstance(request["block"], dict))
        if block.account != account:
            raise RpcError("peer: the block belongs to another account")
    else:
        block = _competitor(ledger, account, request)
    keep = _keep_height(ledger, account, block.previous)
    snapshot = ledger.snapshot()
    try:
        rolled_back = ledger.rollback_after(account, keep)
        new_hash = ledger.process(block)
    except RpcError:
        ledger.restore(snapshot)
        raise
    hashes = [codec.hex_upper(h) for h in rolled_back]
    return {"hash": codec.hex_upper(new_hash), "rolled_back": args.tree(hashes)}


def _competitor(ledger: Ledger, account: bytes, request: Request) -> StateBlock:
    key = _private_key(request, account)
    info = ledger.accounts[account]
    previous = info.head
    if args.flag(request, "rollback"):
        previous = ledger.blocks[info.head].block.previous
    if previous == ZERO32:
        opening = ledger.blocks[info.open_block].block  # compete for the same send
        balance, link = opening.balance, opening.link
    else:
        balance, link = ledger.blocks[previous].block.balance, ZERO32
    representative = FORK_REPRESENTATIVE
    if "representative" in request:
        representative = args.account(request, "representative")
    if "balance" in request:
        balance = _decimal(request, "balance")
    if "link" in request:
        link = _link(args.text(request, "link"))
    block = StateBlock(account, previous, representative, balance, link).signed(key)
    limits = ledger.thresholds
    return block.worked(max(limits.epoch_2, limits.epoch_2_receive))


def _keep_height(ledger: Ledger, account: bytes, previous: bytes) -> int:
    if previous == ZERO32:
        return 0
    stored = ledger.blocks.get(previous)
    if stored is None or stored.block.account != account:
        raise RpcError("peer: the block's previous is not in the account's chain")
    return stored.height


def _private_key(request: Request, account: bytes) -> bytes:
    try:
        key = codec.hex_decode(args.text(request, "private_key"), 32)
    except ValueError as e:
        raise RpcError("peer: private_key must be 64 hex digits") from e
    if crypto.public_key(key) != account:
        raise RpcError("peer: private_key does not belong to the account")
    return key


def _decimal(request: Request, name: str) -> int:
    try:
        return codec.decimal_decode(args.text(request, name))
    except ValueError as e:
        raise RpcError(f"peer: {name} must be a decimal raw amount") from e


def _link(text: str) -> bytes:
    try:
        return codec.account_decode(text)
    except ValueError:
        pass
    try:
        return codec.hex_decode(text, 32)
    except ValueError as e:
        raise RpcError("peer: link must be 64 hex digits or an address") from e


HANDLERS: dict[str, Callable[[PeerState, Request], Answer]] = {
    "peer_info": peer_info,
    "peer_fund": peer_fund,
    "peer_set_confirmation_delay": peer_set_confirmation_delay,
    "peer_confirm_all": peer_confirm_all,
    "peer_hold_confirmations": peer_hold_confirmations,
    "peer_drop_next_reply": peer_drop_next_reply,
    "peer_fork_frontier": peer_fork_frontier,
}
