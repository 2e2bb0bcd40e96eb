"""Tampered Nano templates: each is refused before any signature, with its check's code.

Every case starts from a template the signer signs (test_signer_signs.py) and changes one
thing, as a compromised watcher or coordinator could.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from custody.contract.templates import Template, TemplateKind
from custody.signer.errors import Refusal
from custody.signer.signing import TemplateSigner
from testnodes.nano import codec
from tests.support.keys import STRANGER
from tests.support.signer_templates import withdrawal
from tests.unit.nano.conftest import Clock
from tests.unit.nano.nano_templates import (
    REPRESENTATIVE,
    STRANGER_REP,
    XNO,
    Block,
    NanoCase,
    account,
    foreign_account,
    hot_chain,
    key_hex,
    opening,
    path,
    pay,
    private_key,
    receive_open,
    sweep,
)

ALICE = foreign_account("alice")
BOB = foreign_account("bob")
FOREIGN_KEY = bytes(range(32))


def _swap_destination(c: NanoCase) -> None:
    c.block = c.block.but(link=key_hex(BOB))


def _amount_plus_one(c: NanoCase) -> None:
    c.block = c.block.but(balance=c.block.balance - 1)  # sends one raw more than the intent


def _amount_minus_one(c: NanoCase) -> None:
    c.block = c.block.but(balance=c.block.balance + 1)


def _previous_signed_by_stranger(c: NanoCase) -> None:
    prev = hot_chain(10 * XNO)
    c.previous = prev.signed(FOREIGN_KEY)


def _previous_of_another_account(c: NanoCase) -> None:
    # A block of our deposit account 1, signed by it: ours, but not this account's chain.
    other = opening(2, 10 * XNO)
    c.previous = other.signed(private_key(2))
    c.block = c.block.but(previous=codec.hex_upper(other.hash()))


def _previous_not_hashing(c: NanoCase) -> None:
    c.block = c.block.but(previous="CD" * 32)


def _previous_balance_misstated(c: NanoCase) -> None:
    assert c.previous is not None
    c.previous = {**c.previous, "balance": str(100 * XNO)}  # signature kept


def _previous_restated_and_resigned(c: NanoCase) -> None:
    # A forged previous block with a bigger balance, hashing right, signed by a stranger.
    forged = hot_chain(100 * XNO)
    c.previous = forged.signed(FOREIGN_KEY)
    c.block = c.block.but(previous=codec.hex_upper(forged.hash()))


def _previous_missing(c: NanoCase) -> None:
    c.previous = None


def _send_disguised_as_receive(c: NanoCase) -> None:
    c.subtype = "receive"


def _send_in_a_receive_template(c: NanoCase) -> None:
    c.kind, c.withdrawals = TemplateKind.RECEIVE, []


def _zero_link_send(c: NanoCase) -> None:
    c.block = c.block.but(link="00" * 32)


def _account_not_ours(c: NanoCase) -> None:
    c.block = c.block.but(account=foreign_account("mallory"))


def _lying_path(c: NanoCase) -> None:
    c.path = path(5)


def _path_of_another_coin(c: NanoCase) -> None:
    c.path = "m/44'/60'/0'"


def _path_not_hardened(c: NanoCase) -> None:
    c.path = "m/44'/165'/0"


def _foreign_representative_on_send(c: NanoCase) -> None:
    c.block = c.block.but(representative=STRANGER_REP)


def _withdrawal_from_a_deposit_account(c: NanoCase) -> None:
    prev = opening(3, 10 * XNO)
    c.previous, c.path = prev.signed(private_key(3)), path(3)
    c.block = Block(account(3), codec.hex_upper(prev.hash()), REPRESENTATIVE,
                    prev.balance - 5, key_hex(ALICE))


def _txid_mismatch(c: NanoCase) -> None:
    c.txid = "EF" * 32


def _unsigned_intent(c: NanoCase) -> None:
    c.withdrawals = [withdrawal("w-1", ALICE, 5, currency="XNO", signer=STRANGER)]


def _two_withdrawals(c: NanoCase) -> None:
    c.withdrawals = [*c.withdrawals, withdrawal("w-2", ALICE, 5, currency="XNO", user="u2")]


def _intent_of_another_currency(c: NanoCase) -> None:
    c.withdrawals = [withdrawal("w-1", ALICE, 5, currency="LTC")]


def _destination_invalid(c: NanoCase) -> None:
    bad = ALICE[:-1] + ("1" if ALICE[-1] != "1" else "3")  # checksum broken
    c.withdrawals = [withdrawal("w-1", bad, 5, currency="XNO")]


def _receive_kind_with_withdrawals(c: NanoCase) -> None:
    c.kind = TemplateKind.RECEIVE


def _topup_kind(c: NanoCase) -> None:
    c.kind, c.withdrawals = TemplateKind.TOPUP, []


WITHDRAWAL_CASES: list[tuple[str, Callable[[NanoCase], None], str]] = [
    ("destination swapped", _swap_destination, "nano_destination_mismatch"),
    ("amount one raw more", _amount_plus_one, "nano_amount_mismatch"),
    ("amount one raw less", _amount_minus_one, "nano_amount_mismatch"),
    ("previous signed by a stranger", _previous_signed_by_stranger, "nano_previous_not_ours"),
    ("previous of another account", _previous_of_another_account, "nano_previous_not_ours"),
    ("previous not hashing to previous", _previous_not_hashing, "nano_previous_mismatch"),
    ("previous balance misstated", _previous_balance_misstated, "nano_previous_mismatch"),
    ("previous forged and re-signed", _previous_restated_and_resigned, "nano_previous_not_ours"),
    ("previous missing", _previous_missing, "nano_previous_missing"),
    ("send disguised as a receive", _send_disguised_as_receive, "nano_subtype_mismatch"),
    ("send in a receive template", _send_in_a_receive_template, "nano_kind_mismatch"),
    ("zero link on a send", _zero_link_send, "nano_link_zero"),
    ("account not ours", _account_not_ours, "nano_account_not_ours"),
    ("lying path", _lying_path, "nano_account_not_ours"),
    ("path of another coin", _path_of_another_coin, "derivation_path_invalid"),
    ("path not hardened", _path_not_hardened, "derivation_path_invalid"),
    ("foreign representative on a send", _foreign_representative_on_send,
     "nano_representative_not_configured"),
    ("withdrawal from a deposit account", _withdrawal_from_a_deposit_account,
     "nano_not_hot_account"),
    ("txid not the block hash", _txid_mismatch, "txid_mismatch"),
    ("intent unsigned", _unsigned_intent, "intent_signature_invalid"),
    ("two withdrawals in one block", _two_withdrawals, "nano_one_withdrawal_per_block"),
    ("intent of another currency", _intent_of_another_currency, "intent_currency_mismatch"),
    ("destination with a broken checksum", _destination_invalid, "destination_invalid"),
    ("receive template paying withdrawals", _receive_kind_with_withdrawals,
     "template_kind_unsupported"),
    ("topup template", _topup_kind, "template_kind_unsupported"),
]


def refusal(signer: TemplateSigner, template: Template) -> str:
    """The code of the refusal (the test fails if the template is signed)."""
    with pytest.raises(Refusal) as refused:
        signer.sign(template)
    assert len(signer.journal) == 0 or signer.journal.by_txid(template.txid or "") is None
    return str(refused.value.code)


@pytest.mark.parametrize(
    ("change", "code"), [(c, code) for _, c, code in WITHDRAWAL_CASES],
    ids=[name for name, _, _ in WITHDRAWAL_CASES],
)
def test_tampered_withdrawal(
    nano_signer: TemplateSigner, change: Callable[[NanoCase], None], code: str
) -> None:
    case = pay(ALICE, 5)
    change(case)
    assert refusal(nano_signer, case.template()) == code


def test_sweep_to_a_foreign_account(nano_signer: TemplateSigner) -> None:
    case = sweep(1, XNO)
    case.block = case.block.but(link=key_hex(BOB))
    assert refusal(nano_signer, case.template()) == "nano_sweep_not_to_hot"


def test_sweep_to_another_deposit_account_of_ours(nano_signer: TemplateSigner) -> None:
    case = sweep(1, XNO)
    case.block = case.block.but(link=key_hex(account(9)))
    assert refusal(nano_signer, case.template()) == "nano_sweep_not_to_hot"


def test_sweep_from_the_hot_account(nano_signer: TemplateSigner) -> None:
    prev = hot_chain(XNO)
    case = sweep(1, XNO)
    case.previous, case.path = prev.signed(private_key(0)), path(0)
    case.block = Block(account(0), codec.hex_upper(prev.hash()), REPRESENTATIVE, 0,
                       key_hex(account(0)))
    assert refusal(nano_signer, case.template()) == "nano_sweep_from_hot"


def test_sweep_with_withdrawals_is_not_a_sweep(nano_signer: TemplateSigner) -> None:
    case = sweep(1, XNO)
    case.withdrawals = [withdrawal("w-1", ALICE, 5, currency="XNO")]
    assert refusal(nano_signer, case.template()) == "template_kind_unsupported"


def test_open_with_a_foreign_representative(nano_signer: TemplateSigner) -> None:
    case = receive_open(1, XNO)
    case.block = case.block.but(representative=STRANGER_REP)
    assert refusal(nano_signer, case.template()) == "nano_representative_not_configured"


def test_change_to_a_foreign_representative(nano_signer: TemplateSigner) -> None:
    prev = opening(2, XNO)
    case = receive_open(1, XNO)
    case.previous, case.subtype = prev.signed(private_key(2)), "change"
    case.block = Block(account(2), codec.hex_upper(prev.hash()), STRANGER_REP, XNO, "00" * 32)
    assert refusal(nano_signer, case.template()) == "nano_representative_not_configured"


def test_open_with_a_zero_link(nano_signer: TemplateSigner) -> None:
    case = receive_open(1, XNO)
    case.block = case.block.but(link="00" * 32)
    assert refusal(nano_signer, case.template()) == "nano_link_zero"


def test_open_with_a_previous_block(nano_signer: TemplateSigner) -> None:
    case = receive_open(1, XNO)
    case.previous = hot_chain(XNO).signed(private_key(0))
    assert refusal(nano_signer, case.template()) == "nano_previous_mismatch"


def test_epoch_block(nano_signer: TemplateSigner) -> None:
    prev = opening(2, XNO)
    case = receive_open(1, XNO)
    epoch_link = b"epoch v2 block".ljust(32, b"\x00").hex().upper()
    case.previous, case.subtype = prev.signed(private_key(2)), "change"
    case.block = Block(account(2), codec.hex_upper(prev.hash()), REPRESENTATIVE, XNO, epoch_link)
    assert refusal(nano_signer, case.template()) == "nano_subtype_unsupported"


@dataclass(frozen=True)
class Limits:
    """An amount and the approvals it carries."""

    amount: int
    approvers: int
    code: str


@pytest.mark.parametrize(
    "limits",
    [
        Limits(2 * XNO, 0, "approvals_insufficient"),  # above 1 XNO: one operator needed
        Limits(101 * XNO, 1, "limit_per_withdrawal"),
    ],
    ids=["missing approval", "over the per-withdrawal limit"],
)
def test_intent_limits(nano_signer: TemplateSigner, limits: Limits) -> None:
    case = pay(ALICE, limits.amount, prev=hot_chain(200 * XNO), approvers=limits.approvers)
    assert refusal(nano_signer, case.template()) == limits.code


def test_over_the_daily_limit(nano_signer: TemplateSigner, nano_clock: Clock) -> None:
    prev = hot_chain(2000 * XNO)
    for n in range(10):
        case = pay(ALICE, 100 * XNO, prev=prev, wid=f"w-{n}", user=f"u{n}", approvers=1)
        case.tid = f"tpl-{n}"
        nano_signer.sign(case.template())
        prev = case.block
    case = pay(ALICE, 1, prev=prev, wid="w-last", user="u-last")
    assert refusal(nano_signer, case.template()) == "limit_daily"
    nano_clock.advance(hours=25)
    nano_signer.sign(case.template())


def test_second_block_for_a_withdrawal_on_another_previous(nano_signer: TemplateSigner) -> None:
    first = pay(ALICE, 5)
    nano_signer.sign(first.template())
    # The same withdrawal again, one block further up the chain: both could confirm.
    later = pay(ALICE, 5, prev=first.block)
    later.tid = "tpl-nano-2"
    assert refusal(nano_signer, later.template()) == "withdrawal_already_signed"
    later.replaces = first.tid
    assert refusal(nano_signer, later.template()) == "replacement_not_conflicting"


def test_second_block_for_a_withdrawal_on_the_same_previous_forks(
    nano_signer: TemplateSigner,
) -> None:
    # The hot account still names an old representative: a send may keep it or move to ours,
    # so two different sends of the same withdrawal can sit on the same previous block.
    prev = hot_chain(10 * XNO).but(representative=foreign_account("old rep"))
    first = pay(ALICE, 5, prev=prev)
    first.block = first.block.but(representative=prev.representative)
    nano_signer.sign(first.template())
    fork = pay(ALICE, 5, prev=prev)
    fork.tid = "tpl-fork"
    assert fork.block != first.block and fork.block.previous == first.block.previous
    assert refusal(nano_signer, fork.template()) == "withdrawal_already_signed"
    fork.replaces = first.tid  # declared: the two fork, at most one can confirm
    assert nano_signer.sign(fork.template()).txid == codec.hex_upper(fork.block.hash())
    assert len(nano_signer.journal.for_withdrawal("request:req-w-1")) == 2


MALFORMED: list[tuple[str, Callable[[dict[str, object]], None]]] = [
    ("not json", lambda t: t.clear()),
    ("extra key", lambda t: t.update(note="hi")),
    ("other format", lambda t: t.update(format="custody-nano-template/v2")),
    ("unknown subtype", lambda t: t.update(subtype="bounce")),
    ("work missing", lambda t: t.pop("work")),
    ("lower-case previous", lambda t: _set_block(t, "previous", "ab" * 32)),
    ("balance with a leading zero", lambda t: _set_block(t, "balance", "0123")),
    ("balance of 2^128", lambda t: _set_block(t, "balance", str(2**128))),
    ("account checksum broken", lambda t: _set_block(t, "account", account(0)[:-1] + "1")),
    ("signature on the unsigned block", lambda t: _set_block(t, "signature", "AB" * 64)),
    ("previous without signature", lambda t: _drop_previous_signature(t)),
]


def _set_block(tree: dict[str, object], name: str, value: str) -> None:
    block = tree["block"]
    assert isinstance(block, dict)
    block[name] = value


def _drop_previous_signature(tree: dict[str, object]) -> None:
    previous = tree["previous"]
    assert isinstance(previous, dict)
    del previous["signature"]


@pytest.mark.parametrize("change", [c for _, c in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_payload(nano_signer: TemplateSigner, change: Callable[..., None]) -> None:
    case = pay(ALICE, 5)
    tree = json.loads(case.payload())
    change(tree)
    template = case.template().model_copy(update={"payload": json.dumps(tree)})
    assert refusal(nano_signer, template) == "nano_payload_malformed"
