"""Node RPC actions about accounts: account_info and the receivable family."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testnodes.nano import args, codec, errors
from testnodes.nano.args import Request
from testnodes.nano.codec import ZERO32
from testnodes.nano.errors import RpcError
from testnodes.nano.ledger import Account, Ledger, Pending
from testnodes.nano.state import PeerState

Answer = dict[str, Any]
ACCOUNT_VERSION = "2"  # every account counts as epoch 2 in this peer (README)


def account_info(state: PeerState, request: Request) -> Answer:
    """Frontier, balance (possibly unconfirmed), counts; confirmed_* with include_confirmed."""
    ledger = state.ledger
    account = args.account(request)
    include_confirmed = args.flag(request, "include_confirmed")
    info = ledger.accounts.get(account)
    if info is None:
        raise RpcError(errors.ACCOUNT_NOT_FOUND)
    answer: Answer = {
        "frontier": codec.hex_upper(info.head),
        "open_block": codec.hex_upper(info.open_block),
        "representative_block": codec.hex_upper(info.head),  # every state block names a rep
        "balance": str(info.balance),
    }
    if include_confirmed:
        answer["confirmed_balance"] = str(_confirmed_balance(ledger, info))
    answer.update(
        modified_timestamp=str(info.modified),
        block_count=str(info.block_count),
        account_version=ACCOUNT_VERSION,
    )
    prefix = ("confirmed_height", "confirmed_frontier")
    if not include_confirmed:
        prefix = ("confirmation_height", "confirmation_height_frontier")  # the older names
    answer[prefix[0]] = str(info.confirmed_height)
    answer[prefix[1]] = codec.hex_upper(info.confirmed_frontier)
    answer.update(_account_extras(ledger, account, info, request, include_confirmed))
    return answer


def _confirmed_balance(ledger: Ledger, info: Account) -> int:
    if info.confirmed_height == 0:
        return 0
    return ledger.blocks[info.confirmed_frontier].block.balance


def _account_extras(
    ledger: Ledger, account: bytes, info: Account, request: Request, include_confirmed: bool
) -> Answer:
    extras: Answer = {}
    if args.flag(request, "representative"):
        extras["representative"] = codec.account_encode(info.representative)
        if include_confirmed:
            rep = ZERO32
            if info.confirmed_height:
                rep = ledger.blocks[info.confirmed_frontier].block.representative
            extras["confirmed_representative"] = codec.account_encode(rep)
    if args.flag(request, "weight"):
        extras["weight"] = str(ledger.weight(account))
    if args.flag(request, "receivable", args.flag(request, "pending")):
        owed = sum(entry.amount for _, entry in ledger.receivable(account, False))
        extras["pending"] = extras["receivable"] = str(owed)
        if include_confirmed:
            confirmed = sum(entry.amount for _, entry in ledger.receivable(account, True))
            extras["confirmed_pending"] = extras["confirmed_receivable"] = str(confirmed)
    return extras


def receivable(state: PeerState, request: Request) -> Answer:
    """Receivable sends of one account: a list of hashes, or a map when threshold/source/sorting.

    include_only_confirmed defaults to true (V22+): unconfirmed sends are left out.
    """
    account = args.account(request)
    count = args.count_optional(request)
    offset = args.offset_optional(request)
    threshold = args.threshold_optional(request)
    source = args.flag(request, "source")
    min_version = args.flag(request, "min_version")
    sorting = args.flag(request, "sorting")
    only_confirmed = args.flag(request, "include_only_confirmed", True)
    entries = state.ledger.receivable(account, only_confirmed)
    if threshold == 0 and not (source or min_version or sorting):
        hashes = [codec.hex_upper(send) for send, _ in entries[offset:]][:count]
        return {"blocks": args.tree(hashes)}
    if sorting:
        chosen = [item for item in entries if item[1].amount >= threshold]
        chosen.sort(key=lambda item: item[1].amount, reverse=True)  # stable, like the node
        chosen = chosen[offset : offset + count]
    else:
        chosen = [item for item in entries[offset:] if item[1].amount >= threshold][:count]
    return {"blocks": args.tree(_amount_map(chosen, source, min_version))}


def _amount_map(
    entries: list[tuple[bytes, Pending]], source: bool, min_version: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for send, entry in entries:
        if not (source or min_version):
            result[codec.hex_upper(send)] = str(entry.amount)
            continue
        detail = {"amount": str(entry.amount)}
        if source:
            detail["source"] = codec.account_encode(entry.source)
        if min_version:
            detail["min_version"] = ACCOUNT_VERSION
        result[codec.hex_upper(send)] = detail
    return result


def accounts_receivable(state: PeerState, request: Request) -> Answer:
    """Receivables of several accounts; accounts with none are left out, all empty gives ""."""
    count = args.count_optional(request)
    threshold = args.threshold_optional(request)
    source = args.flag(request, "source")
    sorting = args.flag(request, "sorting")
    only_confirmed = args.flag(request, "include_only_confirmed", True)
    simple = threshold == 0 and not (source or sorting)
    blocks: dict[str, Any] = {}
    for text in args.string_list(request, "accounts"):
        account = args.account_text(text)
        entries = state.ledger.receivable(account, only_confirmed)
        if simple:
            found: Any = [codec.hex_upper(send) for send, _ in entries][:count]
        else:
            chosen = [item for item in entries if item[1].amount >= threshold][:count]
            if sorting:
                chosen.sort(key=lambda item: item[1].amount, reverse=True)
            found = _amount_map(chosen, source, False)
        if found:
            blocks[codec.account_encode(account)] = found
    return {"blocks": args.tree(blocks)}


def receivable_exists(state: PeerState, request: Request) -> Answer:
    ledger = state.ledger
    hash_ = args.block_hash(request)
    only_confirmed = args.flag(request, "include_only_confirmed", True)
    stored = ledger.blocks.get(hash_)
    if stored is None:
        raise RpcError(errors.BLOCK_NOT_FOUND)
    exists = stored.subtype == "send" and (stored.block.link, hash_) in ledger.pending
    exists = exists and (not only_confirmed or ledger.is_confirmed(hash_))
    return {"exists": "1" if exists else "0"}


def _deprecated(
    handler: Callable[[PeerState, Request], Answer],
) -> Callable[[PeerState, Request], Answer]:
    """The pre-V23 `pending` names: same answer, with "deprecated": "1" first."""

    def wrapped(state: PeerState, request: Request) -> Answer:
        return {"deprecated": "1", **handler(state, request)}

    return wrapped


HANDLERS: dict[str, Callable[[PeerState, Request], Answer]] = {
    "account_info": account_info,
    "receivable": receivable,
    "accounts_receivable": accounts_receivable,
    "receivable_exists": receivable_exists,
    "pending": _deprecated(receivable),
    "accounts_pending": _deprecated(accounts_receivable),
    "pending_exists": _deprecated(receivable_exists),
}
