"""Checks before any signature: a valid template signs, and every tampered one is refused with the
reason code of the check it fails."""

import base64
import dataclasses
from collections.abc import Callable
from pathlib import Path

import coincurve
import pytest
from embit import ec
from embit.psbt import PSBT
from embit.script import Script
from embit.transaction import SIGHASH, Transaction, TransactionOutput

from custody.chains.bitcoin import network
from custody.contract.intent import approval_bytes, public_key_hex, sign
from custody.contract.templates import Template, TemplateKind
from custody.contract.withdrawals import Approval, WithdrawalIntent
from custody.signer.derivation import KeyRing
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.journal import Journal
from custody.signer.policy import load_policy
from custody.signer.signing import TemplateSigner
from tests.support.keys import OPERATORS, STRANGER, secp_pubkey
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
    address,
    change_out,
    foreign_script,
    funding_tx,
    origin,
    p2wpkh,
    path,
    pubkey,
    raw_payload,
    standard_case,
    withdrawal,
    write_policy,
)


def signed_tx(signer: TemplateSigner, template: Template) -> Transaction:
    result = signer.sign(template)
    tx = Transaction.parse(bytes.fromhex(result.signed_payload))
    assert result.txid == tx.txid().hex() == template.txid
    return tx


def test_valid_template_is_signed_with_valid_signatures(signer: TemplateSigner) -> None:
    case = standard_case()
    psbt = case.psbt()
    tx = signed_tx(signer, case.template(psbt))
    for n, (vin, coin) in enumerate(zip(tx.vin, case.coins, strict=True)):
        der_sig, pub = vin.witness.items
        assert der_sig[-1] == SIGHASH.ALL and pub == pubkey(coin.path)
        digest = psbt.sighash(n, SIGHASH.ALL)  # embit's BIP143, not ours
        assert coincurve.PublicKey(pub).verify(der_sig[:-1], digest, hasher=None)
        # low S: libsecp256k1 normalizes, so the node's standardness rule holds
        sig = ec.Signature.parse(der_sig[:-1])
        assert ec.PublicKey.parse(pub).verify(sig, digest)


@pytest.mark.parametrize("kind", ["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"])
def test_every_destination_kind_is_paid(signer: TemplateSigner, kind: str) -> None:
    script = foreign_script(f"dest {kind}", kind)
    case = standard_case()
    case.outputs[0] = Out(script, 250_000_000)
    case.withdrawals = [withdrawal("w1", address(script), 250_000_000, approvers=OPERATORS[:1])]
    signed_tx(signer, case.template())


def test_several_withdrawals_in_one_template(signer: TemplateSigner) -> None:
    case = standard_case()
    case.withdrawals.append(withdrawal("w2", BOB, 50_000_000))
    case.outputs = [Out(BOB_SCRIPT, 50_000_000), case.outputs[0], change_out(0, 50_000_000 - FEE)]
    signed_tx(signer, case.template())


def test_two_withdrawals_to_one_destination(signer: TemplateSigner) -> None:
    case = standard_case()
    case.withdrawals = [
        withdrawal("w1", ALICE, 50_000_000), withdrawal("w2", ALICE, 50_000_000, user="user-2")
    ]
    case.outputs = [Out(ALICE_SCRIPT, 50_000_000), Out(ALICE_SCRIPT, 50_000_000),
                    change_out(0, 250_000_000 - FEE)]
    signed_tx(signer, case.template())


def test_sweep_to_own_change_is_signed(signer: TemplateSigner) -> None:
    case = standard_case()
    case.kind, case.withdrawals = TemplateKind.SWEEP, []
    case.outputs = [change_out(3, 350_000_000 - FEE)]
    signed_tx(signer, case.template())


# ---- tampering -------------------------------------------------------------------------------

Tamper = Callable[[Case], Template]


def outputs(*outs: Out) -> Tamper:
    def tamper(case: Case) -> Template:
        case.outputs = list(outs)
        return case.template()

    return tamper


def psbt_edit(edit: Callable[[PSBT], object]) -> Tamper:
    def tamper(case: Case) -> Template:
        psbt = case.psbt()
        edit(psbt)
        return case.template(psbt)

    return tamper


def raw_edit(edit: Callable[[bytes], bytes]) -> Tamper:
    def tamper(case: Case) -> Template:
        raw = case.psbt().serialize()
        template = case.template()
        return template.model_copy(update={"payload": raw_payload(edit(raw))})

    return tamper


def withdrawals(*make: Callable[[], object]) -> Tamper:
    def tamper(case: Case) -> Template:
        case.withdrawals = [m() for m in make]  # type: ignore[misc]
        return case.template()

    return tamper


def template_edit(**update: object) -> Tamper:
    def tamper(case: Case) -> Template:
        return case.template().model_copy(update=update)

    return tamper


CHANGE = ONE - FEE
PAY = Out(ALICE_SCRIPT, 250_000_000)
MALLORY = secp_pubkey("mallory")


def _set_origin(psbt: PSBT, where: str, n: int, pub: bytes, at: str, fp: bytes | None = None) -> None:
    scope = (psbt.inputs if where == "in" else psbt.outputs)[n]
    scope.bip32_derivations.clear()
    kwargs = {} if fp is None else {"fingerprint": fp}
    scope.bip32_derivations[ec.PublicKey.parse(pub)] = origin(at, **kwargs)


def _coin_at(at: str, value: int) -> Tamper:
    """An input on `at` (any path), its origin honest, so only the path itself is wrong."""

    def tamper(case: Case) -> Template:
        psbt = case.psbt()
        prev = funding_tx(p2wpkh(pubkey(at)), value, at)
        psbt.inputs[0].non_witness_utxo = prev
        psbt.inputs[0].witness_utxo = prev.vout[0]
        psbt.inputs[0].txid = prev.txid()
        _set_origin(psbt, "in", 0, pubkey(at), at)
        return case.template(psbt)

    return tamper


def _p2pkh_input(case: Case) -> Template:
    psbt = case.psbt()
    pub = pubkey(case.coins[0].path)
    script = b"\x76\xa9\x14" + p2wpkh(pub)[2:] + b"\x88\xac"
    prev = funding_tx(script, case.coins[0].value, "p2pkh")
    psbt.inputs[0].non_witness_utxo, psbt.inputs[0].witness_utxo = prev, prev.vout[0]
    psbt.inputs[0].txid = prev.txid()
    return case.template(psbt)


def _replayed_approval() -> object:
    w = withdrawal("w1", ALICE, 250_000_000)
    other = WithdrawalIntent(request_id="req-other", user_id="user-1", currency="LTC",
                             amount=250_000_000, destination=ALICE)
    key = OPERATORS[0]
    replayed = Approval(operator_key=public_key_hex(key), signature=sign(key, approval_bytes(other)))
    return w.model_copy(update={"approvals": [replayed]})


def _altered_intent() -> object:
    w = withdrawal("w1", ALICE, 240_000_000, approvers=OPERATORS[:1])
    return w.model_copy(update={"intent": w.intent.model_copy(update={"amount": 250_000_000})})


def _big_case(case: Case) -> Template:
    """15 LTC needs two approvals; the same operator approving twice is still one."""
    case.coins = [Coin(path(0, 5), 10 * ONE), Coin(path(0, 6), 6 * ONE)]
    case.outputs = [Out(ALICE_SCRIPT, 15 * ONE), change_out(0, ONE - FEE)]
    case.withdrawals = [withdrawal("w1", ALICE, 15 * ONE, approvers=[OPERATORS[1]] * 2)]
    return case.template()


def _over_limit(case: Case) -> Template:
    case.coins = [Coin(path(0, 5), 22 * ONE)]
    case.outputs = [Out(ALICE_SCRIPT, 21 * ONE), change_out(0, ONE - FEE)]
    case.withdrawals = [withdrawal("w1", ALICE, 21 * ONE, approvers=OPERATORS[:2])]
    return case.template()


TAMPERS: list[tuple[str, Tamper, R]] = [
    ("destination swapped", outputs(Out(BOB_SCRIPT, 250_000_000), change_out(0, CHANGE)),
     R.OUTPUT_UNEXPECTED),
    ("amount one unit short", outputs(Out(ALICE_SCRIPT, 250_000_000 - 1), change_out(0, CHANGE + 1)),
     R.OUTPUT_AMOUNT_MISMATCH),
    ("amount one unit over", outputs(Out(ALICE_SCRIPT, 250_000_000 + 1), change_out(0, CHANGE - 1)),
     R.OUTPUT_AMOUNT_MISMATCH),
    ("extra output", outputs(PAY, change_out(0, CHANGE - 5000), Out(BOB_SCRIPT, 5000)),
     R.OUTPUT_UNEXPECTED),
    ("missing output", lambda c: withdrawals(
        lambda: c.withdrawals[0], lambda: withdrawal("w2", BOB, 1000))(c), R.INTENT_UNPAID),
    ("change pays a foreign script", outputs(PAY, Out(p2wpkh(MALLORY), CHANGE, origin=path(1, 0))),
     R.CHANGE_NOT_OURS),
    ("change claims a foreign key on our path", psbt_edit(lambda p: (
        setattr(p.outputs[1], "script_pubkey", Script(p2wpkh(MALLORY))),
        _set_origin(p, "out", 1, MALLORY, path(1, 0)))), R.CHANGE_NOT_OURS),
    ("change without key origin", outputs(PAY, Out(p2wpkh(pubkey(path(1, 0))), CHANGE)),
     R.OUTPUT_UNEXPECTED),
    ("change on the receive branch", outputs(PAY, change_out(4, CHANGE, branch=0)),
     R.CHANGE_WRONG_BRANCH),
    ("change with a foreign fingerprint", psbt_edit(
        lambda p: _set_origin(p, "out", 1, pubkey(path(1, 0)), path(1, 0), b"\xde\xad\xbe\xef")),
     R.DERIVATION_FOREIGN_FINGERPRINT),
    ("input key not ours", lambda c: dataclasses.replace(c, coins=[
        c.coins[0], Coin(path(0, 1), 2 * ONE, pays=MALLORY)]).template(), R.INPUT_NOT_OURS),
    ("input without key origin", psbt_edit(lambda p: p.inputs[0].bip32_derivations.clear()),
     R.INPUT_NOT_OURS),
    ("lying derivation path", psbt_edit(
        lambda p: _set_origin(p, "in", 0, pubkey(path(0, 0)), path(0, 5))),
     R.INPUT_DERIVATION_MISMATCH),
    ("input with a foreign fingerprint", psbt_edit(
        lambda p: _set_origin(p, "in", 0, pubkey(path(0, 0)), path(0, 0), b"\x01\x02\x03\x04")),
     R.DERIVATION_FOREIGN_FINGERPRINT),
    ("input outside the BIP84 account", _coin_at("m/44'/1'/0'/0/0", 150_000_000),
     R.DERIVATION_PATH_INVALID),
    ("input on the mainnet coin type", _coin_at(path(0, 0, coin=2), 150_000_000),
     R.DERIVATION_PATH_INVALID),
    ("input on a hardened index", _coin_at("m/84'/1'/0'/0/0'", 150_000_000),
     R.DERIVATION_PATH_INVALID),
    ("input of the P2PKH kind", _p2pkh_input, R.INPUT_SCRIPT_UNSUPPORTED),
    ("fee over the cap", outputs(PAY, change_out(0, CHANGE - 100_001 + FEE)), R.FEE_OVER_CAP),
    ("fee rate over the cap", outputs(PAY, change_out(0, ONE - 50_000)), R.FEE_RATE_OVER_CAP),
    ("outputs exceed inputs", outputs(PAY, change_out(0, ONE + 1)), R.FEE_NEGATIVE),
    ("destination with a bad checksum", withdrawals(lambda: withdrawal(
        "w1", ALICE[:-1] + ("p" if ALICE[-1] == "q" else "q"), 250_000_000)),
     R.DESTINATION_INVALID),
    ("destination on another network", withdrawals(lambda: withdrawal(
        "w1", _on("ltc-main"), 250_000_000, approvers=OPERATORS[:1])), R.WRONG_NETWORK),
    ("destination on bitcoin testnet", withdrawals(lambda: withdrawal(
        "w1", _on("btc-test"), 250_000_000, approvers=OPERATORS[:1])), R.WRONG_NETWORK),
    ("intent unsigned", withdrawals(lambda: withdrawal(
        "w1", ALICE, 250_000_000, approvers=OPERATORS[:1]).model_copy(
        update={"signature": "00" * 64})), R.INTENT_SIGNATURE_INVALID),
    ("intent signed by another key", withdrawals(lambda: withdrawal(
        "w1", ALICE, 250_000_000, signer=STRANGER, approvers=OPERATORS[:1])),
     R.INTENT_SIGNATURE_INVALID),
    ("intent altered after signing", withdrawals(_altered_intent), R.INTENT_SIGNATURE_INVALID),
    ("approval missing for its tier", withdrawals(lambda: withdrawal("w1", ALICE, 250_000_000)),
     R.APPROVALS_INSUFFICIENT),
    ("approval replayed from another intent", withdrawals(_replayed_approval), R.APPROVAL_INVALID),
    ("approval by an unknown operator", withdrawals(lambda: withdrawal(
        "w1", ALICE, 250_000_000, approvers=[STRANGER])), R.APPROVALS_INSUFFICIENT),
    ("one operator approving twice", _big_case, R.APPROVALS_INSUFFICIENT),
    ("per-withdrawal limit exceeded", _over_limit, R.LIMIT_PER_WITHDRAWAL),
    ("intent for another currency", withdrawals(lambda: withdrawal(
        "w1", ALICE, 250_000_000, currency="BTC", approvers=OPERATORS[:1])),
     R.INTENT_CURRENCY_MISMATCH),
    ("intent of amount zero", lambda c: withdrawals(lambda: withdrawal("w1", ALICE, 0))(
        dataclasses.replace(c, outputs=[Out(ALICE_SCRIPT, 0), change_out(0, 350_000_000 - FEE)])),
     R.INTENT_AMOUNT_INVALID),
    ("withdrawal listed twice", lambda c: withdrawals(
        lambda: c.withdrawals[0], lambda: c.withdrawals[0])(c), R.WITHDRAWAL_DUPLICATED),
    ("withdrawal template without withdrawals", withdrawals(), R.WITHDRAWALS_MISSING),
    ("sweep paying somebody", lambda c: dataclasses.replace(
        c, kind=TemplateKind.SWEEP, withdrawals=[]).template(), R.OUTPUT_UNEXPECTED),
    ("template kind not signed here", template_edit(kind=TemplateKind.RECEIVE),
     R.TEMPLATE_KIND_UNSUPPORTED),
    ("currency not in the policy", template_edit(currency="DOGE"), R.CURRENCY_NOT_CONFIGURED),
    ("txid differs from the PSBT's", template_edit(txid="00" * 32), R.TXID_MISMATCH),
    ("txid missing", template_edit(txid=None), R.TXID_MISMATCH),
    ("garbage PSBT", template_edit(payload=base64.b64encode(b"hello world").decode()),
     R.PSBT_MALFORMED),
    ("payload not base64", template_edit(payload="psbt?"), R.PAYLOAD_NOT_BASE64),
    ("truncated PSBT", raw_edit(lambda raw: raw[:-7]), R.PSBT_TRUNCATED),
    ("trailing bytes", raw_edit(lambda raw: raw + b"\x00"), R.PSBT_TRAILING_DATA),
    ("PSBT version 2", raw_edit(lambda raw: raw[:5] + b"\x01\xfb\x04\x02\x00\x00\x00" + raw[5:]),
     R.PSBT_UNSUPPORTED),
    ("sighash NONE requested", psbt_edit(lambda p: setattr(p.inputs[0], "sighash_type", 2)),
     R.SIGHASH_UNSUPPORTED),
    ("input already partially signed", psbt_edit(lambda p: p.inputs[0].partial_sigs.__setitem__(
        ec.PublicKey.parse(pubkey(path(0, 0))), b"\x30\x06\x02\x01\x01\x02\x01\x01\x01")),
     R.PSBT_UNSUPPORTED),
    ("input with a witness script", psbt_edit(
        lambda p: setattr(p.inputs[0], "witness_script", Script(b"\x51"))),
     R.INPUT_SCRIPT_UNSUPPORTED),
    ("input claiming two keys", psbt_edit(lambda p: p.inputs[0].bip32_derivations.__setitem__(
        ec.PublicKey.parse(pubkey(path(0, 9))), origin(path(0, 9)))), R.PSBT_UNSUPPORTED),
    ("previous tx of another outpoint", psbt_edit(lambda p: setattr(
        p.inputs[0], "non_witness_utxo", p.inputs[1].non_witness_utxo)), R.INPUT_UTXO_MISMATCH),
    ("witness UTXO lies about the amount", psbt_edit(lambda p: setattr(
        p.inputs[0], "witness_utxo", TransactionOutput(
            p.inputs[0].witness_utxo.value + ONE, p.inputs[0].witness_utxo.script_pubkey))),
     R.INPUT_UTXO_MISMATCH),
    ("previous tx missing", psbt_edit(lambda p: setattr(p.inputs[0], "non_witness_utxo", None)),
     R.INPUT_UTXO_MISSING),
    ("one coin spent twice", lambda c: dataclasses.replace(
        c, coins=[c.coins[0], c.coins[0]], outputs=[Out(ALICE_SCRIPT, 250_000_000),
                                                    change_out(0, 50_000_000 - FEE)]).template(),
     R.INPUT_DUPLICATED),
    ("OP_RETURN output", outputs(PAY, change_out(0, CHANGE), Out(b"\x6a\x04test", 0)),
     R.OUTPUT_SCRIPT_UNSUPPORTED),
    ("transaction version 3", psbt_edit(lambda p: setattr(p, "tx_version", 3)),
     R.PSBT_UNSUPPORTED),
]


def _on(net: str) -> str:
    from custody.chains.bitcoin import address_from_script

    found = address_from_script(network(net), ALICE_SCRIPT)
    assert found is not None
    return found


@pytest.mark.parametrize(("name", "tamper", "code"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampered_template_is_refused(
    signer: TemplateSigner, journal: Journal, name: str, tamper: Tamper, code: R
) -> None:
    template = tamper(standard_case())
    with pytest.raises(Refusal) as refused:
        signer.sign(template)
    assert refused.value.code is code, refused.value.reason
    assert len(journal) == 0  # nothing refused is ever journaled


def test_there_are_enough_distinct_tampers() -> None:
    assert len(TAMPERS) >= 25
    assert len({code for _, _, code in TAMPERS}) >= 25


def test_destination_off_the_allowlist(tmp_path: Path, keyring: KeyRing, journal: Journal) -> None:
    policy = load_policy(write_policy(tmp_path, allowlist=[BOB]))
    signer = TemplateSigner(policy, keyring, journal)
    with pytest.raises(Refusal) as refused:
        signer.sign(standard_case().template())
    assert refused.value.code is R.DESTINATION_NOT_ALLOWED
    allowed = TemplateSigner(load_policy(write_policy(tmp_path, allowlist=[ALICE, BOB])),
                             keyring, journal)
    allowed.sign(standard_case().template())
