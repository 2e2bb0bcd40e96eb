"""One intent, one payment; same bytes every time; the rolling daily limit. All from the journal."""

import json
from pathlib import Path

import pytest

from custody.signer.derivation import KeyRing
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.journal import Journal
from custody.signer.policy import Policy, load_policy
from custody.signer.signing import TemplateSigner
from tests.support.keys import OPERATORS
from tests.support.signer_templates import (
    ALICE,
    ALICE_SCRIPT,
    BOB,
    BOB_SCRIPT,
    FEE,
    ONE,
    Case,
    Coin,
    Out,
    change_out,
    path,
    standard_case,
    withdrawal,
    write_policy,
)
from tests.unit.signer.conftest import Clock


def test_same_template_twice_gives_identical_bytes(signer: TemplateSigner, journal: Journal) -> None:
    template = standard_case().template()
    first = signer.sign(template)
    second = signer.sign(template)
    assert first == second
    assert len(journal) == 1


def test_identical_bytes_after_a_restart(
    tmp_path: Path, policy: Policy, keyring: KeyRing
) -> None:
    template = standard_case().template()
    with Journal(tmp_path / "j.jsonl") as journal:
        first = TemplateSigner(policy, keyring, journal).sign(template)
    with Journal(tmp_path / "j.jsonl") as journal:
        again = TemplateSigner(policy, keyring, journal).sign(template)
        assert len(journal) == 1
    assert again.signed_payload == first.signed_payload


def test_journal_records_what_was_signed(signer: TemplateSigner, journal: Journal) -> None:
    case = standard_case()
    signed = signer.sign(case.template())
    [line] = journal.path.read_text().splitlines()
    record = json.loads(line)
    assert record["txid"] == signed.txid and record["template_id"] == case.tid
    # The journal keys a withdrawal by the request_id the exchange signed, not the coordinator id.
    assert record["withdrawals"] == [{"id": "request:req-w1", "amount": "250000000"}]
    assert record["currency"] == "LTC" and len(record["spends"]) == 2
    assert signed.signed_payload not in line  # a digest, not the transaction


def test_second_different_transaction_for_a_withdrawal_is_refused(signer: TemplateSigner) -> None:
    signer.sign(standard_case().template())
    bumped = standard_case()
    bumped.tid = "tpl-2"
    bumped.outputs[1] = change_out(0, ONE - 2 * FEE)
    with pytest.raises(Refusal) as refused:
        signer.sign(bumped.template())
    assert refused.value.code is R.WITHDRAWAL_ALREADY_SIGNED


def test_declared_replacement_spending_a_same_input_is_signed(signer: TemplateSigner) -> None:
    first = signer.sign(standard_case().template())
    bumped = standard_case()
    bumped.tid, bumped.replaces = "tpl-2", "tpl-1"
    bumped.coins = [bumped.coins[1], Coin(path(0, 7), ONE)]  # keeps one input of the first
    bumped.outputs[1] = change_out(0, 50_000_000 - 2 * FEE)
    second = signer.sign(bumped.template())
    assert second.txid != first.txid


def test_declared_replacement_sharing_no_input_is_refused(signer: TemplateSigner) -> None:
    signer.sign(standard_case().template())
    other = standard_case(salt="other coins")
    other.tid, other.replaces = "tpl-2", "tpl-1"
    with pytest.raises(Refusal) as refused:
        signer.sign(other.template())
    assert refused.value.code is R.REPLACEMENT_NOT_CONFLICTING


def test_replacement_must_conflict_with_every_earlier_transaction(signer: TemplateSigner) -> None:
    signer.sign(standard_case().template())  # spends coins A and B
    second = standard_case()
    second.tid, second.replaces = "tpl-2", "tpl-1"
    second.coins = [second.coins[1], Coin(path(0, 7), ONE)]  # B and C: conflicts with the first
    second.outputs[1] = change_out(0, 50_000_000 - 2 * FEE)
    signer.sign(second.template())
    third = standard_case()
    third.tid, third.replaces = "tpl-3", "tpl-2"
    third.coins = [Coin(path(0, 7), ONE), Coin(path(0, 8), 2 * ONE)]  # C only: not the first
    third.outputs[1] = change_out(0, 50_000_000 - 3 * FEE)
    with pytest.raises(Refusal) as refused:
        signer.sign(third.template())
    assert refused.value.code is R.REPLACEMENT_NOT_CONFLICTING


def test_same_transaction_for_other_withdrawals_is_refused(signer: TemplateSigner) -> None:
    case = standard_case()
    signer.sign(case.template())
    case.withdrawals = [withdrawal("w9", ALICE, 250_000_000, user="user-9",
                                   approvers=OPERATORS[:1])]
    with pytest.raises(Refusal) as refused:
        signer.sign(case.template())
    assert refused.value.code is R.SIGNED_DIFFERENTLY


def _small(wid: str, salt: str, to: str = BOB, amount: int = 90_000_000) -> Case:
    """A withdrawal under the approval threshold, from its own coin."""
    case = standard_case(salt)
    case.tid = f"tpl-{wid}"
    case.coins = [Coin(path(0, 20), ONE, salt)]
    case.outputs = [Out(BOB_SCRIPT if to == BOB else ALICE_SCRIPT, amount),
                    change_out(0, ONE - amount - FEE)]
    case.withdrawals = [withdrawal(wid, to, amount, user=f"user-{wid}")]
    return case


def test_rolling_daily_limit(
    tmp_path: Path, keyring: KeyRing, journal: Journal, clock: Clock
) -> None:
    policy = load_policy(write_policy(tmp_path, max_per_day=2 * 90_000_000))
    signer = TemplateSigner(policy, keyring, journal, clock=clock)
    signer.sign(_small("a", "1").template())
    clock.advance(hours=12)
    signer.sign(_small("b", "2").template())
    third = _small("c", "3").template()
    with pytest.raises(Refusal) as refused:
        signer.sign(third)
    assert refused.value.code is R.LIMIT_DAILY
    clock.advance(hours=12, seconds=1)  # the first left the 24-hour window
    signer.sign(third)
    # Re-signing what is already journaled is not new volume.
    signer.sign(_small("b", "2").template())
