"""A withdrawal whose signed transaction died is paid again only on the operators' word.

The signer cannot see the chain, so after "an input was spent elsewhere" it keeps refusing a
second, non-conflicting transaction for the same intent, until the intent carries a reissue:
an operator's Ed25519 signature over the intent digest and the dead txid.
"""

import pytest

from custody.contract.withdrawals import Reissue, Withdrawal
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.signing import TemplateSigner
from tests.support.keys import OPERATORS, STRANGER, reissue
from tests.support.signer_templates import (
    ALICE_SCRIPT,
    FEE,
    ONE,
    Case,
    Coin,
    Out,
    change_out,
    path,
    standard_case,
)


def _pay_again(withdrawal: Withdrawal) -> Case:
    """The same withdrawal from other coins: it conflicts with nothing signed before."""
    return Case(
        coins=[Coin(path(0, 7), 3 * ONE, "again")],
        outputs=[Out(ALICE_SCRIPT, 250_000_000), change_out(2, ONE // 2 - FEE)],
        withdrawals=[withdrawal],
        tid="tpl-again",
    )


def _with(withdrawal: Withdrawal, *bodies: dict[str, str]) -> Withdrawal:
    return withdrawal.model_copy(update={"reissues": [Reissue(**b) for b in bodies]})


@pytest.fixture
def dead(signer: TemplateSigner) -> tuple[Withdrawal, str]:
    case = standard_case()
    signed = signer.sign(case.template())
    return case.withdrawals[0], signed.txid


def test_without_a_reissue_the_second_transaction_is_refused(
    signer: TemplateSigner, dead: tuple[Withdrawal, str]
) -> None:
    withdrawal, _ = dead
    with pytest.raises(Refusal) as refused:
        signer.sign(_pay_again(withdrawal).template())
    assert refused.value.code is R.WITHDRAWAL_ALREADY_SIGNED


def test_an_operators_reissue_of_the_dead_txid_lets_it_be_paid_again(
    signer: TemplateSigner, dead: tuple[Withdrawal, str]
) -> None:
    withdrawal, txid = dead
    again = _with(withdrawal, reissue(withdrawal.intent, txid, operator=1))
    assert signer.sign(_pay_again(again).template()).txid


def test_a_reissue_of_another_txid_or_by_a_stranger_does_not_count(
    signer: TemplateSigner, dead: tuple[Withdrawal, str]
) -> None:
    withdrawal, txid = dead
    other_txid = _with(withdrawal, reissue(withdrawal.intent, "ab" * 32))
    stranger = reissue(withdrawal.intent, txid)
    stranger["operator_key"] = STRANGER.public_key().public_bytes_raw().hex()
    for attempt in (other_txid, _with(withdrawal, stranger)):
        with pytest.raises(Refusal) as refused:
            signer.sign(_pay_again(attempt).template())
        assert refused.value.code is R.WITHDRAWAL_ALREADY_SIGNED


def test_a_forged_reissue_is_refused_by_name(
    signer: TemplateSigner, dead: tuple[Withdrawal, str]
) -> None:
    withdrawal, txid = dead
    forged = reissue(withdrawal.intent, txid)
    forged["signature"] = reissue(withdrawal.intent, "ab" * 32)["signature"]
    with pytest.raises(Refusal) as refused:
        signer.sign(_pay_again(_with(withdrawal, forged)).template())
    assert refused.value.code is R.REISSUE_INVALID
    assert len(OPERATORS) == 3
