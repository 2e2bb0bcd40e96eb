"""The Bitcoin-family signer: check a PSBT against the intents and policy, sign P2WPKH inputs."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from custody.chains import bitcoin as chain
from custody.contract.addresses import PoolAddress
from custody.contract.currencies import ChainFamily
from custody.contract.templates import SignedTransaction, Template
from custody.signer.chains.base import ChainSigner, CheckContext, CheckedTx
from custody.signer.chains.bitcoin_psbt import (
    Bip143,
    KeyOrigin,
    Psbt,
    PsbtInput,
    Transaction,
    TxIn,
    TxOut,
    decode_base64,
    parse_psbt,
    sha256d,
)
from custody.signer.derivation import SCHEMES, Account, Branch, DerivedKey, format_path
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.intents import VerifiedIntent
from custody.signer.policy import CurrencyPolicy

_P2WPKH = b"\x00\x14"
# Witness of one P2WPKH input at its largest: item count, a 72-byte low-S DER signature with
# its sighash byte, and a 33-byte key, each with a length byte. Using the largest size makes the
# fee-rate estimate the lowest the final transaction can have (at most 1 vbyte off per input).
_P2WPKH_WITNESS_MAX = 1 + 1 + 72 + 1 + 33


@dataclass(frozen=True)
class BitcoinCheckedTx(CheckedTx):
    """A checked PSBT: the transaction, our key for each input and each input's digest."""

    tx: Transaction
    keys: tuple[DerivedKey, ...]
    digests: tuple[bytes, ...]


def _payable(script: bytes) -> bool:
    """P2PKH, P2SH, P2WPKH, P2WSH or P2TR: the output kinds we pay (checked by shape only)."""
    size = len(script)
    return (
        (size == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac")
        or (size == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87)
        or (size == 22 and script[:2] == b"\x00\x14")
        or (size == 34 and script[:2] in (b"\x00\x20", b"\x51\x20"))
    )


def _account(net: chain.BitcoinNetwork) -> Account:
    return Account(SCHEMES[ChainFamily.BITCOIN].purpose, net.bip32_coin_type)


def _p2wpkh(pubkey: bytes) -> bytes:
    return _P2WPKH + chain.hash160(pubkey)


def _script_code(pubkey: bytes) -> bytes:
    # BIP143: a P2WPKH input is signed as if it were P2PKH of the same key hash.
    return b"\x76\xa9\x14" + chain.hash160(pubkey) + b"\x88\xac"


def estimated_vsize(tx: Transaction) -> int:
    """Virtual size of `tx` once every input carries its P2WPKH witness (upper bound)."""
    weight = 4 * len(tx.serialize()) + 2 + _P2WPKH_WITNESS_MAX * len(tx.inputs)
    return -(-weight // 4)


class BitcoinSigner(ChainSigner[BitcoinCheckedTx]):
    """PSBTs with P2WPKH inputs of our BIP84 account; destinations P2PKH/P2SH/P2WPKH/P2WSH/P2TR."""

    family = ChainFamily.BITCOIN

    def address(self, currency: CurrencyPolicy, branch: Branch, index: int) -> PoolAddress:
        """BIP84: m/84'/coin'/0'/branch/index, paid to as P2WPKH."""
        net = chain.network(currency.network)
        key = self.keys.derive(_account(net).path(branch, index))
        return PoolAddress(
            currency=currency.code,
            address=chain.p2wpkh_address(net, key.public_key),
            derivation_path=key.path_text,
            public_key=key.public_key.hex(),
            branch=branch.pool_branch,
            fingerprint=self.keys.fingerprint.hex(),
        )

    def check(self, template: Template, ctx: CheckContext) -> BitcoinCheckedTx:
        """Parse the PSBT strictly and check inputs, outputs, fee and txid; raises Refusal."""
        net = chain.network(ctx.currency.network)
        account = _account(net)
        psbt = parse_psbt(decode_base64(template.payload))
        tx = psbt.tx
        if tx.version not in (1, 2):
            raise Refusal(R.PSBT_UNSUPPORTED, f"transaction version {tx.version} is not 1 or 2")
        txid = tx.txid()
        if template.txid is None or template.txid.lower() != txid:
            raise Refusal(
                R.TXID_MISMATCH, f"template says txid {template.txid}, the PSBT's txid is {txid}"
            )
        spent = self._check_inputs(psbt, account)
        self._check_outputs(psbt, account, net, ctx.intents)
        fee = _check_fee(tx, [utxo for utxo, _ in spent], ctx.currency)
        hasher = Bip143(tx)
        digests = tuple(
            hasher.digest(n, _script_code(key.public_key), utxo.value)
            for n, (utxo, key) in enumerate(spent)
        )
        return BitcoinCheckedTx(
            template_id=template.id,
            txid=txid,
            spends=frozenset(i.outpoint for i in tx.inputs),
            fee=fee,
            tx=tx,
            keys=tuple(key for _, key in spent),
            digests=digests,
        )

    def sign(self, checked: BitcoinCheckedTx) -> SignedTransaction:
        """ECDSA with RFC 6979 nonces and low S (libsecp256k1): the same digest, the same bytes."""
        witnesses = []
        for key, digest in zip(checked.keys, checked.digests, strict=True):
            signature = key.signing_key.sign(digest, hasher=None)
            witnesses.append((signature + b"\x01", key.public_key))
        raw = checked.tx.serialize(witnesses)
        return SignedTransaction(signed_payload=raw.hex(), txid=checked.txid)

    def _check_inputs(self, psbt: Psbt, account: Account) -> list[tuple[TxOut, DerivedKey]]:
        outpoints = [i.outpoint for i in psbt.tx.inputs]
        if len(set(outpoints)) != len(outpoints):
            raise Refusal(R.INPUT_DUPLICATED, "the transaction spends one output twice")
        return [
            self._check_input(n, txin, meta, account)
            for n, (txin, meta) in enumerate(zip(psbt.tx.inputs, psbt.inputs, strict=True))
        ]

    def _check_input(
        self, n: int, txin: TxIn, meta: PsbtInput, account: Account
    ) -> tuple[TxOut, DerivedKey]:
        what = f"input {n} ({txin.outpoint})"
        utxo = _spent_output(what, txin, meta)
        if meta.sighash_type not in (None, 1):
            raise Refusal(
                R.SIGHASH_UNSUPPORTED, f"{what} asks for sighash {meta.sighash_type}; only ALL"
            )
        if len(utxo.script) != 22 or not utxo.script.startswith(_P2WPKH):
            raise Refusal(R.INPUT_SCRIPT_UNSUPPORTED, f"{what} is not a P2WPKH output")
        key, _ = self._claimed_key(what, meta.origins, account, R.INPUT_DERIVATION_MISMATCH)
        if utxo.script != _p2wpkh(key.public_key):
            raise Refusal(R.INPUT_NOT_OURS, f"{what} pays a key other than ours at {key.path_text}")
        return utxo, key

    def _claimed_key(
        self, what: str, origins: Mapping[bytes, KeyOrigin], account: Account, mismatch: R
    ) -> tuple[DerivedKey, Branch]:
        """Re-derive the key an origin claims; the claim itself proves nothing."""
        if not origins:
            raise Refusal(R.INPUT_NOT_OURS, f"{what} has no key origin: not a key we derive")
        if len(origins) != 1:
            raise Refusal(R.PSBT_UNSUPPORTED, f"{what} claims {len(origins)} keys; P2WPKH has one")
        [(pubkey, origin)] = origins.items()
        if origin.fingerprint != self.keys.fingerprint:
            raise Refusal(
                R.DERIVATION_FOREIGN_FINGERPRINT,
                f"{what}: key origin fingerprint {origin.fingerprint.hex()} is not ours",
            )
        try:
            branch, _ = account.locate(origin.path)
        except ValueError as e:
            raise Refusal(R.DERIVATION_PATH_INVALID, f"{what}: {e}") from e
        key = self.keys.derive(origin.path)
        if key.public_key != pubkey:
            raise Refusal(
                mismatch, f"{what}: {format_path(origin.path)} derives another key than claimed"
            )
        return key, branch

    def _check_outputs(
        self,
        psbt: Psbt,
        account: Account,
        net: chain.BitcoinNetwork,
        intents: Sequence[VerifiedIntent],
    ) -> None:
        """Each output pays exactly one intent (script and amount) or our own change."""
        unpaid = [(chain.script_pubkey(net, i.destination), i) for i in intents]
        for n, (out, meta) in enumerate(zip(psbt.tx.outputs, psbt.outputs, strict=True)):
            what = f"output {n}"
            if not _payable(out.script):
                raise Refusal(R.OUTPUT_SCRIPT_UNSUPPORTED, f"{what} has a non-standard script")
            paid = next(
                (k for k, (s, i) in enumerate(unpaid) if s == out.script and i.amount == out.value),
                None,
            )
            if paid is not None:
                unpaid.pop(paid)
            elif meta.origins:
                self._check_change(what, out, meta.origins, account)
            elif any(s == out.script for s, _ in unpaid):
                raise Refusal(
                    R.OUTPUT_AMOUNT_MISMATCH,
                    f"{what} pays {out.value} to a destination whose intent says otherwise",
                )
            else:
                address = chain.address_from_script(net, out.script)
                raise Refusal(R.OUTPUT_UNEXPECTED, f"{what} pays {address}: no intent, not change")
        if unpaid:
            ids = ", ".join(i.withdrawal_id for _, i in unpaid)
            raise Refusal(R.INTENT_UNPAID, f"no output pays withdrawal(s) {ids}")

    def _check_change(
        self, what: str, out: TxOut, origins: Mapping[bytes, KeyOrigin], account: Account
    ) -> None:
        key, branch = self._claimed_key(what, origins, account, R.CHANGE_NOT_OURS)
        if branch is not Branch.CHANGE:
            raise Refusal(
                R.CHANGE_WRONG_BRANCH, f"{what} is change on {key.path_text}, not on the /1/ branch"
            )
        if out.script != _p2wpkh(key.public_key):
            raise Refusal(R.CHANGE_NOT_OURS, f"{what} claims {key.path_text} but pays another key")


def _spent_output(what: str, txin: TxIn, meta: PsbtInput) -> TxOut:
    """The output an input spends, from the full previous transaction (hash-checked)."""
    prev = meta.non_witness_utxo
    if prev is None:
        # The full previous transaction pins the amount; a witness UTXO alone can lie about it
        # (the segwit fee attack), so we do not sign without it.
        raise Refusal(R.INPUT_UTXO_MISSING, f"{what} lacks its previous transaction")
    if sha256d(prev.serialize()) != txin.prev_hash:
        raise Refusal(R.INPUT_UTXO_MISMATCH, f"{what}: previous transaction has another txid")
    if txin.vout >= len(prev.outputs):
        raise Refusal(R.INPUT_UTXO_MISMATCH, f"{what}: previous transaction has no such output")
    utxo = prev.outputs[txin.vout]
    if meta.witness_utxo is not None and meta.witness_utxo != utxo:
        raise Refusal(R.INPUT_UTXO_MISMATCH, f"{what}: witness UTXO differs from the previous tx")
    return utxo


def _check_fee(tx: Transaction, spent: Sequence[TxOut], currency: CurrencyPolicy) -> int:
    fee = sum(o.value for o in spent) - sum(o.value for o in tx.outputs)
    if fee < 0:
        raise Refusal(R.FEE_NEGATIVE, f"outputs exceed inputs by {-fee}")
    if fee > currency.max_fee:
        raise Refusal(R.FEE_OVER_CAP, f"fee {fee} exceeds the cap {currency.max_fee}")
    vsize = estimated_vsize(tx)
    if fee > currency.max_fee_rate * vsize:
        raise Refusal(
            R.FEE_RATE_OVER_CAP,
            f"fee rate {fee / vsize:.1f}/vB exceeds the cap {currency.max_fee_rate}/vB",
        )
    return fee
