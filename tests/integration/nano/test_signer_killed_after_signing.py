"""The signer killed right after signing: the same bytes again, one payment.

The signer journals (fsynced) before it hands a signature out. Killed right after that, before
the coordinator hears of it, a restarted signer finds the template still unsigned, signs it
again and gets the very same bytes (deterministic Ed25519-Blake2b), with no second journal
line. Killed after posting, with the answer lost, the coordinator has it already and the new
signer has nothing to do. Either way the withdrawal is paid once.
"""

import pytest

from custody.contract.templates import SignedTransaction, Template
from custody.signer.journal import Journal
from custody.signer.loop import SignerLoop
from custody.signer.signing import TemplateSigner
from tests.integration.nano.stack import Stack
from tests.unit.nano.nano_templates import XNO, foreign_account


class Killed(BaseException):
    """The signer process dies."""


@pytest.mark.parametrize("delivered", [False, True], ids=["journaled only", "reply lost"])
def test_signer_killed_after_signing(stack: Stack, delivered: bool) -> None:
    stack.fund_user("alice", XNO)
    gina = foreign_account("gina")
    wid = stack.withdraw("alice", XNO // 3, gina, "signer-crash")
    stack.round()  # the watcher builds the send
    journal_path = stack.signer.signer.journal.path
    kill_on_signature(stack.signer, delivered)
    with pytest.raises(Killed):
        stack.signer.run_once()
    signed_before = journal_path.read_text().splitlines()

    stack.signer = restarted(stack.signer)
    try:
        stack.run_until(lambda: stack.withdrawal(wid)["state"] == "confirmed")
    finally:
        stack.signer.signer.journal.close()
    lines = journal_path.read_text().splitlines()
    assert lines[: len(signed_before)] == signed_before
    txids = [line for line in lines if stack.withdrawal(wid)["txid"] in line]
    assert len(txids) == 1  # journaled once, however often it was signed
    assert list(stack.sends_to(gina).values()) == [XNO // 3]


def kill_on_signature(loop: SignerLoop, delivered: bool) -> None:
    """The next withdrawal signature kills the signer: before it reaches the coordinator, or
    after (the answer is lost)."""
    post = loop.client.post_signature

    def dying(template_id: str, signed: SignedTransaction) -> Template | None:
        if delivered:
            post(template_id, signed)
        raise Killed(template_id)

    loop.client.post_signature = dying  # type: ignore[method-assign]


def restarted(loop: SignerLoop) -> SignerLoop:
    """A new signer process on the same journal, keys and policy."""
    old = loop.signer
    old.journal.close()
    journal = Journal(old.journal.path)
    del loop.client.post_signature  # the real method again
    return SignerLoop(TemplateSigner(old.policy, old.keys, journal), loop.client, loop.settings)
