"""One signed intent, one payment, whatever id the coordinator gives it.

The coordinator's withdrawal id is not part of what the exchange signs. A compromised
coordinator that re-sends the same signed intent (and its approvals) under a fresh id, in a
transaction spending other coins, must be refused: the journal remembers the exchange's
request_id, not the coordinator's label.
"""

import pytest

from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.signing import TemplateSigner
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


def test_same_intent_under_a_new_id_is_refused(signer: TemplateSigner) -> None:
    case = standard_case()
    signer.sign(case.template())
    relabelled = case.withdrawals[0].model_copy(update={"id": "w1-again"})
    other_coins = Case(
        coins=[Coin(path(0, 5), 3 * ONE, "x")],
        outputs=[Out(ALICE_SCRIPT, 250_000_000), change_out(1, ONE // 2 - FEE)],
        withdrawals=[relabelled],
        tid="tpl-2",
    )
    with pytest.raises(Refusal) as refused:
        signer.sign(other_coins.template())
    assert refused.value.code is R.WITHDRAWAL_ALREADY_SIGNED
