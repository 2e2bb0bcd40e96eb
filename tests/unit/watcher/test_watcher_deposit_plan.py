"""What the scan reports: pending, confirmed, left the chain, back again; and in which order."""

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from custody.contract.deposits import DepositReport
from custody.watcher.chains.bitcoin_deposits import (
    DepositReporter,
    DepositScanner,
    ScanCursor,
    StoredBlock,
    plan_reports,
)
from custody.watcher.chains.bitcoin_node import SinceBlock, WalletEntry
from custody.watcher.errors import CoordinatorError, WatcherError

OURS = "rltc1qours"


def entry(
    txid: str,
    confirmations: int,
    *,
    vout: int = 0,
    address: str = OURS,
    category: str = "receive",
    block: str | None = None,
    height: int | None = None,
) -> WalletEntry:
    in_block = confirmations > 0
    return WalletEntry(
        txid=txid,
        vout=vout,
        address=address,
        category=category,
        amount=1000,
        confirmations=confirmations,
        block_hash=(block or f"block-{txid}") if in_block else None,
        block_height=(height or 100) if in_block else None,
    )


def plan(
    entries: list[WalletEntry], removed: tuple[WalletEntry, ...] = ()
) -> tuple[list[Any], list[Any]]:
    scan = SinceBlock(entries=entries, removed=[], lastblock="last")
    gone, live = plan_reports(scan, removed, {OURS}, "LTC")
    return (
        [(r.txid, r.in_chain, r.confirmations) for r in gone],
        [(r.txid, r.in_chain, r.confirmations, r.block_hash) for r in live],
    )


def test_mempool_and_confirmed_outputs_are_reported_where_they_are() -> None:
    gone, live = plan([entry("a", 0), entry("b", 2, block="B")])
    assert gone == []
    assert live == [("a", True, 0, None), ("b", True, 2, "B")]


def test_only_receive_outputs_to_our_deposit_addresses_count() -> None:
    gone, live = plan(
        [
            entry("send", 1, category="send"),
            entry("coinbase", 101, category="generate"),
            entry("change", 1, address="rltc1qchange"),
        ]
    )
    assert (gone, live) == ([], [])


def test_a_detached_output_in_the_mempool_left_the_chain() -> None:
    gone, live = plan([entry("a", 0)], removed=(entry("a", 0),))
    assert gone == [("a", False, 0)] and live == []


def test_a_detached_output_mined_again_is_simply_where_it_is_now() -> None:
    gone, live = plan([entry("a", 1, block="NEW")], removed=(entry("a", 1, block="NEW"),))
    assert gone == [] and live == [("a", True, 1, "NEW")]


def test_a_detached_output_that_the_listing_no_longer_shows_uses_its_own_state() -> None:
    gone, live = plan([], removed=(entry("a", -2),))
    assert gone == [("a", False, 0)] and live == []


def test_a_conflicted_payment_never_confirms() -> None:
    gone, live = plan([entry("a", -1)])
    assert gone == [("a", False, 0)] and live == []


def test_each_output_of_a_transaction_is_its_own_deposit() -> None:
    _, live = plan([entry("a", 1, vout=0), entry("a", 1, vout=3)])
    assert len(live) == 2


def test_the_cursor_round_trips_and_a_foreign_one_is_refused() -> None:
    cursor = ScanCursor(scan_from=StoredBlock(hash="h", height=5), blocks=["x"])
    assert ScanCursor.parse(cursor.model_dump_json()) == cursor
    assert ScanCursor.parse(None) == ScanCursor()
    with pytest.raises(WatcherError, match="not a bitcoin scan cursor"):
        ScanCursor.parse('{"block": 12}x')


def _report(txid: str, confirmations: int = 1, address: str = OURS) -> DepositReport:
    return DepositReport(
        currency="LTC",
        txid=txid,
        output_index=0,
        address=address,
        amount=5,
        block_hash="b" if confirmations else None,
        block_height=1 if confirmations else None,
        confirmations=confirmations,
    )


@dataclass
class Coordinator:
    """Records calls; refuses deposits to `unassigned` the way the coordinator does."""

    unassigned: set[str] = field(default_factory=set)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    cursor_text: str | None = None

    def report_deposits(self, reports: list[DepositReport]) -> list[Any]:
        for n, r in enumerate(reports):
            if r.address in self.unassigned:
                raise CoordinatorError(
                    "409", status=409, code="unknown_address", field=f"deposits.{n}"
                )
        self.calls.append(("report", [(r.txid, r.in_chain, r.confirmations) for r in reports]))
        return list(reports)

    def cursor(self, currency: str) -> str | None:
        return self.cursor_text

    def put_cursor(self, currency: str, text: str) -> None:
        self.cursor_text = text
        self.calls.append(("cursor", json.loads(text)))


def test_an_unchanged_report_is_not_sent_again() -> None:
    coordinator = Coordinator()
    reporter = DepositReporter(coordinator)  # type: ignore[arg-type]
    reporter.send([_report("a", 1)])
    reporter.send([_report("a", 1), _report("b", 0)])
    reporter.send([_report("a", 2)])
    assert [c[1] for c in coordinator.calls] == [
        [("a", True, 1)],
        [("b", True, 0)],
        [("a", True, 2)],
    ]


def test_a_deposit_to_an_address_no_user_was_given_is_left_out() -> None:
    coordinator = Coordinator(unassigned={"rltc1qnobody"})
    reporter = DepositReporter(coordinator)  # type: ignore[arg-type]
    reporter.send([_report("a"), _report("b", address="rltc1qnobody"), _report("c")])
    assert coordinator.calls == [("report", [("a", True, 1), ("c", True, 1)])]


@dataclass
class Node:
    """listsinceblock answers by starting block; blocks in `stale` left the chain."""

    scans: dict[str | None, SinceBlock]
    stale: set[str] = field(default_factory=set)

    def list_since(self, block: str | None, target: int) -> SinceBlock:
        return self.scans[block]

    def stale_blocks(self, hashes: list[str]) -> tuple[list[str], list[str]]:
        return sorted(set(hashes) & self.stale), []

    def block_ref(self, block: str) -> Any:
        from custody.watcher.chains.bitcoin_node import BlockRef

        return BlockRef(block, {"L1": 97, "L2": 98}[block])


class Book:
    def receive(self, addresses: Any) -> set[str]:
        return {a for a in addresses if a == OURS}


def _scanner(node: Node, coordinator: Coordinator, crash_at: str | None = None) -> DepositScanner:
    def checkpoint(point: Any) -> None:
        coordinator.calls.append(("checkpoint", point.name))

    return DepositScanner(node, coordinator, Book(), checkpoint, reorg_window=10)  # type: ignore[arg-type]


def test_blocks_are_saved_before_the_reports_that_name_them() -> None:
    shallow = entry("a", 2, block="B99", height=99)
    node = Node({None: SinceBlock(entries=[shallow], removed=[], lastblock="L1")})
    coordinator = Coordinator()
    _scanner(node, coordinator).discover("LTC", 3)
    kinds = [
        (kind, value if kind != "cursor" else value["blocks"]) for kind, value in coordinator.calls
    ]
    assert kinds == [
        ("checkpoint", "REMOVALS_REPORTED"),
        ("cursor", ["B99"]),
        ("checkpoint", "BLOCKS_SAVED"),
        ("report", [("a", True, 2)]),
        ("checkpoint", "DEPOSITS_REPORTED"),
        ("cursor", ["B99"]),
    ]
    assert json.loads(coordinator.cursor_text or "")["scan_from"] == {"hash": "L1", "height": 97}


def test_a_saved_block_that_left_the_chain_is_walked_for_what_it_held() -> None:
    coordinator = Coordinator()
    coordinator.cursor_text = ScanCursor(
        scan_from=StoredBlock(hash="L1", height=97), blocks=["B99"]
    ).model_dump_json()
    back_in_mempool = entry("a", 0)
    node = Node(
        {
            "L1": SinceBlock(entries=[back_in_mempool], removed=[], lastblock="L2"),
            "B99": SinceBlock(entries=[], removed=[entry("a", 0)], lastblock="L2"),
        },
        stale={"B99"},
    )
    _scanner(node, coordinator).discover("LTC", 3)
    reports = [value for kind, value in coordinator.calls if kind == "report"]
    assert reports == [[("a", False, 0)]]
    cursors = [value for kind, value in coordinator.calls if kind == "cursor"]
    assert cursors[-1] == {"version": 1, "scan_from": {"hash": "L2", "height": 98}, "blocks": []}
