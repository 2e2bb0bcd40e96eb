"""Building a batch: the change key, the bounded fee rate, what fits, and what the node refuses."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from custody.contract.withdrawals import Withdrawal, WithdrawalIntent, WithdrawalState
from custody.watcher.chains.bitcoin_broadcast import _already_known
from custody.watcher.chains.bitcoin_node import Outpoint, base_units
from custody.watcher.chains.bitcoin_withdrawals import WithdrawalBuilder, change_key
from custody.watcher.errors import NodeError
from custody.watcher.settings import NodeConfig


def test_the_change_key_depends_on_the_batch_only() -> None:
    assert change_key("LTC", ["b", "a"]) == change_key("LTC", ["a", "b"])
    assert change_key("LTC", ["a"]) != change_key("LTC", ["a", "b"])
    assert change_key("LTC", ["a"]) != change_key("BTC", ["a"])
    assert len(change_key("LTC", [f"wd_{i:032x}" for i in range(500)])) <= 200


def test_node_amounts_become_exact_integers() -> None:
    from decimal import Decimal

    assert base_units(Decimal("0.00000001"), 8) == 1
    assert base_units(Decimal("21000000"), 8) == 21_000_000 * 10**8
    with pytest.raises(NodeError, match="decimals"):
        base_units(Decimal("0.000000001"), 8)


@dataclass
class Node:
    estimate: int | None = None
    coins: dict[Outpoint, int] = field(default_factory=dict)
    refuse: dict[str, NodeError] = field(default_factory=dict)
    funded: list[Any] = field(default_factory=list)

    def fee_rate(self, conf_target: int) -> int | None:
        return self.estimate

    def unspent(self, *, include_unsafe: bool) -> dict[Outpoint, int]:
        return self.coins

    def fund_psbt(self, outputs: Any, change: str, rate: int, *, lock: bool = True) -> str:
        self.funded.append((outputs, lock))
        for destination, _ in outputs:
            if destination in self.refuse:
                raise self.refuse[destination]
        return "psbt"


def _builder(node: Node, **config: Any) -> WithdrawalBuilder:
    values: dict[str, Any] = {"url": "http://n", "user": "u", "password": "p", **config}
    return WithdrawalBuilder(node, None, None, lambda p: None, NodeConfig(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize(("estimate", "expected"), [(None, 3), (1, 2), (7, 7), (500, 40)])
def test_the_fee_rate_is_bounded_by_floor_and_cap(estimate: int | None, expected: int) -> None:
    builder = _builder(Node(estimate=estimate), fee_floor=2, fee_cap=40, fallback_fee=3)
    assert builder.fee_rate() == expected


def _withdrawal(n: int, amount: int, destination: str) -> Withdrawal:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    intent = WithdrawalIntent(
        request_id=f"r{n}", user_id="u", currency="LTC", amount=amount, destination=destination
    )
    return Withdrawal(
        id=f"w{n}",
        intent=intent,
        signature="00" * 64,
        fee=0,
        state=WithdrawalState.APPROVED,
        approvals=[],
        approvals_required=0,
        template_id=None,
        txid=None,
        failure_code=None,
        failure_reason=None,
        created_at=now,
        updated_at=now,
    )


def test_a_batch_takes_the_oldest_that_fit_one_per_destination() -> None:
    node = Node(coins={Outpoint("aa", 0): 100_000})
    builder = _builder(node, batch_size=3)
    approved = [
        _withdrawal(0, 30_000, "x"),
        _withdrawal(1, 10_000, "x"),  # same destination: next template
        _withdrawal(2, 90_000, "y"),  # does not fit now
        _withdrawal(3, 20_000, "z"),
        _withdrawal(4, 20_000, "v"),
        _withdrawal(5, 1_000, "q"),  # past the batch size
    ]
    batch = builder._fit(approved, rate=1)
    assert [w.id for w in batch] == ["w0", "w3", "w4"]


def test_withdrawals_the_node_refuses_alone_are_set_aside() -> None:
    dust = NodeError("walletcreatefundedpsbt", -4, "Transaction amount too small")
    node = Node(refuse={"dust": dust})
    builder = _builder(node)
    batch = [_withdrawal(0, 100, "dust"), _withdrawal(1, 5000, "fine")]
    builder._find_unpayable(batch, 1, "change", dust)
    assert builder.unpayable == {"w0"}
    assert all(lock is False for _, lock in node.funded)  # dry runs only


@pytest.mark.parametrize(
    ("code", "message", "known"),
    [
        (-27, "Transaction already in block chain", True),
        (-26, "txn-already-in-mempool", True),
        (-26, "txn-already-known", True),
        (-26, "txn-mempool-conflict", False),
        (-25, "bad-txns-inputs-missingorspent", False),
    ],
)
def test_which_refusals_mean_the_node_has_our_transaction(
    code: int, message: str, known: bool
) -> None:
    assert _already_known(NodeError("sendrawtransaction", code, message)) is known
