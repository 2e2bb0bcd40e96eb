"""What the Nano signer signs: withdrawals, sweeps, opens, receives, changes, chains of sends.

Every template here is built without the signer's code (nano_templates.py); every signature is
checked with the test peer's libsodium verifier.
"""

import pytest

from custody.signer.chains.nano import NanoSigner
from custody.signer.derivation import Branch, KeyRing
from custody.signer.errors import SignerError
from custody.signer.policy import Policy
from custody.signer.signing import TemplateSigner
from testnodes.nano import codec, crypto
from testnodes.nano.block import StateBlock
from tests.unit.nano.conftest import Clock
from tests.unit.nano.nano_templates import (
    REPRESENTATIVE,
    SEED,
    XNO,
    Block,
    account,
    foreign_account,
    hot_chain,
    path,
    pay,
    private_key,
    public_key,
    receive_open,
    slip10_ed25519,
    sweep,
)

ALICE = foreign_account("alice")


def signed_block(signed_payload: str) -> StateBlock:
    """The signer's output, read with the peer's code (216-byte binary state block)."""
    raw = bytes.fromhex(signed_payload)
    assert len(raw) == 216
    return StateBlock(
        raw[0:32], raw[32:64], raw[64:96], int.from_bytes(raw[96:112], "big"), raw[112:144],
        raw[144:208], int.from_bytes(raw[208:216], "big"),
    )


def test_slip10_of_the_signer_matches_an_independent_derivation(nano_keyring: KeyRing) -> None:
    for index in (0, 1, 7, 2**31 - 1):
        secret, public = nano_keyring.derive_ed25519_blake2b(
            (44 + 2**31, 165 + 2**31, index + 2**31)
        )
        assert secret == slip10_ed25519(SEED, [44, 165, index])
        assert public == crypto.public_key(secret)


def test_withdrawal_send_is_signed_and_verifies(nano_signer: TemplateSigner) -> None:
    case = pay(ALICE, 3 * 10**29)
    signed = nano_signer.sign(case.template())
    block = signed_block(signed.signed_payload)
    assert signed.txid == codec.hex_upper(case.block.hash()) == codec.hex_upper(block.hash)
    assert crypto.verify(public_key(0), block.hash, block.signature)
    assert block.work == 0  # the watcher attaches the work
    assert block.link == codec.account_decode(ALICE)


def test_signing_is_deterministic_and_journaled_once(nano_signer: TemplateSigner) -> None:
    template = pay(ALICE, 5).template()
    first = nano_signer.sign(template)
    assert nano_signer.sign(template) == first
    assert len(nano_signer.journal) == 1
    entry = nano_signer.journal.by_txid(first.txid)
    assert entry is not None and entry.withdrawals == (("request:req-w-1", 5),)
    prev = hot_chain(10 * XNO)
    assert entry.spends == {f"{public_key(0).hex()}:{prev.hash().hex()}"}


def test_big_amounts_to_the_raw(nano_signer: TemplateSigner, nano_policy: Policy) -> None:
    # 2^127 raw and one raw more than 2^64: nothing is rounded anywhere.
    big = hot_chain(2**128 - 1)
    amount = 2**64 + 1
    case = pay(ALICE, amount, prev=big, approvers=1)
    block = signed_block(nano_signer.sign(case.template()).signed_payload)
    assert block.balance == 2**128 - 1 - amount


def test_sweep_to_the_hot_account(nano_signer: TemplateSigner) -> None:
    signed = nano_signer.sign(sweep(4, 7 * XNO).template())
    block = signed_block(signed.signed_payload)
    assert block.link == public_key(0) and block.balance == 0
    assert crypto.verify(public_key(5), block.hash, block.signature)


def test_open_and_receive_and_change_to_the_configured_representative(
    nano_signer: TemplateSigner,
) -> None:
    opened = receive_open(2, XNO)
    nano_signer.sign(opened.template())
    receive = opened.block.but(
        previous=codec.hex_upper(opened.block.hash()), balance=3 * XNO, link="CD" * 32
    )
    case = receive_open(2, XNO)
    case.block, case.previous, case.subtype, case.tid = (
        receive, opened.block.signed(private_key(3)), "receive", "tpl-receive"
    )
    nano_signer.sign(case.template())
    # A change block (same balance, zero link) back to the configured representative.
    other = receive.but(representative=foreign_account("old rep"))
    change = Block(account(3), codec.hex_upper(other.hash()), REPRESENTATIVE, 3 * XNO, "00" * 32)
    case.block, case.previous, case.subtype, case.tid = (
        change, other.signed(private_key(3)), "change", "tpl-change"
    )
    signed = nano_signer.sign(case.template())
    assert crypto.verify(public_key(3), change.hash(), signed_block(signed.signed_payload).signature)


def test_a_run_of_sends_signed_ahead_of_confirmation(
    nano_signer: TemplateSigner, nano_clock: Clock
) -> None:
    # Each send is built on the previous one as the signer signed it (nothing published yet).
    prev = hot_chain(10 * XNO)
    for n in range(5):
        case = pay(ALICE, 1000 + n, prev=prev, wid=f"w-{n}", user=f"u{n}")
        case.tid = f"tpl-{n}"
        signed = signed_block(nano_signer.sign(case.template()).signed_payload)
        assert signed.previous == prev.hash()
        prev = case.block
    assert prev.balance == 10 * XNO - sum(1000 + n for n in range(5))


def test_a_fresh_signer_verifies_the_previous_signature(
    nano_policy: Policy, nano_keyring: KeyRing, nano_signer: TemplateSigner
) -> None:
    # Nothing cached: the previous block's signature is verified, not remembered.
    case = pay(ALICE, 42)
    assert nano_signer.sign(case.template()).txid == codec.hex_upper(case.block.hash())


def test_pool_addresses(nano_keyring: KeyRing, nano_policy: Policy) -> None:
    signer = NanoSigner(nano_keyring)
    currency = nano_policy.currencies["XNO"]
    hot = signer.address(currency, Branch.HOT, 0)
    assert (hot.address, hot.derivation_path, hot.branch.value) == (account(0), path(0), "hot")
    assert hot.public_key == public_key(0).hex()
    deposit = signer.address(currency, Branch.RECEIVE, 6)
    assert (deposit.address, deposit.derivation_path) == (account(7), path(7))
    with pytest.raises(SignerError, match="no change account"):
        signer.address(currency, Branch.CHANGE, 0)
    with pytest.raises(SignerError, match="no hot account 1"):
        signer.address(currency, Branch.HOT, 1)
