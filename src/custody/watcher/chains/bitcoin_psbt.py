"""The node's funded PSBT made ready for the signer: key origins from the pool, nothing else."""

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from embit import bip32
from embit.ec import PublicKey
from embit.psbt import PSBT, DerivationPath
from embit.transaction import Transaction

from custody.chains import bitcoin as chain
from custody.contract.addresses import WatchAddress
from custody.watcher.chains.bitcoin_node import Outpoint
from custody.watcher.errors import TemplateError

_P2WPKH = b"\x00\x14"


@dataclass(frozen=True)
class ReadyPsbt:
    """A PSBT the signer can check: base64 payload, its txid and the outputs it spends."""

    payload: str
    txid: str
    spends: frozenset[Outpoint]


def outpoints(tx: Transaction) -> frozenset[Outpoint]:
    """The outputs a transaction spends."""
    return frozenset(Outpoint(bytes(i.txid).hex(), int(i.vout)) for i in tx.vin)


def payload_spends(payload: str) -> frozenset[Outpoint]:
    """The outputs a template's PSBT spends."""
    return outpoints(PSBT.from_base64(payload).tx)


def signed_spends(signed_hex: str) -> frozenset[Outpoint]:
    """The outputs a signed transaction spends."""
    return outpoints(Transaction.parse(bytes.fromhex(signed_hex)))


def prepare_psbt(
    funded: str,
    net: chain.BitcoinNetwork,
    change: WatchAddress,
    pool: Callable[[list[str]], Mapping[str, WatchAddress]],
    previous_tx: Callable[[str], str],
) -> ReadyPsbt:
    """Put the pool's key origin (master fingerprint and path) on every input and on the change
    output, and the full previous transaction on every input; drop everything else the node
    may have added. `pool` maps addresses to pool entries, `previous_tx` a txid to its hex."""
    psbt = PSBT.from_base64(funded)
    scripts = [_spent_script(psbt, n, previous_tx) for n in range(len(psbt.inputs))]
    addresses = [_address(net, s) for s in scripts]
    entries = pool(addresses)
    for scope, address, script in zip(psbt.inputs, addresses, scripts, strict=True):
        entry = entries.get(address)
        if entry is None:
            raise TemplateError(f"input pays {address}, which is not a pool address")
        _check_key(entry, script)
        scope.bip32_derivations = {_key(entry): _origin(entry)}
        scope.partial_sigs = {}
        scope.unknown = {}
    change_script = chain.script_pubkey(net, change.address)
    for out, scope in zip(psbt.tx.vout, psbt.outputs, strict=True):
        is_change = bytes(out.script_pubkey.data) == change_script
        scope.bip32_derivations = {_key(change): _origin(change)} if is_change else {}
        scope.unknown = {}
    psbt.xpubs = {}
    psbt.unknown = {}
    raw = psbt.serialize()
    return ReadyPsbt(
        payload=base64.b64encode(raw).decode("ascii"),
        txid=psbt.tx.txid().hex(),
        spends=outpoints(psbt.tx),
    )


def _spent_script(psbt: PSBT, n: int, previous_tx: Callable[[str], str]) -> bytes:
    """The script of the output input `n` spends, with its full previous transaction attached."""
    scope, txin = psbt.inputs[n], psbt.tx.vin[n]
    if scope.non_witness_utxo is None:
        # The signer wants the whole previous transaction: a bare witness UTXO can lie about
        # the amount (the segwit fee attack). The watch-only wallet has it.
        scope.non_witness_utxo = Transaction.parse(
            bytes.fromhex(previous_tx(bytes(txin.txid).hex()))
        )
    prev = scope.non_witness_utxo
    if prev.txid() != txin.txid or txin.vout >= len(prev.vout):
        raise TemplateError(f"input {n}: the previous transaction does not match the outpoint")
    out = prev.vout[txin.vout]
    scope.witness_utxo = out
    script = bytes(out.script_pubkey.data)
    if len(script) != 22 or not script.startswith(_P2WPKH):
        raise TemplateError(f"input {n} is not P2WPKH: the signer signs P2WPKH inputs only")
    return script


def _address(net: chain.BitcoinNetwork, script: bytes) -> str:
    address = chain.address_from_script(net, script)
    if address is None:
        raise TemplateError(f"script {script.hex()} has no address")
    return address


def _check_key(entry: WatchAddress, script: bytes) -> None:
    if chain.hash160(bytes.fromhex(entry.public_key)) != script[2:]:
        raise TemplateError(f"the pool's key for {entry.address} does not match its script")


def _key(entry: WatchAddress) -> PublicKey:
    return PublicKey.parse(bytes.fromhex(entry.public_key))


def _origin(entry: WatchAddress) -> DerivationPath:
    if entry.fingerprint is None:
        raise TemplateError(
            f"pool address {entry.address} has no master fingerprint: the signer cannot "
            "recognise it (re-post the pool from a signer that sends fingerprints)"
        )
    return DerivationPath(bytes.fromhex(entry.fingerprint), bip32.parse_path(entry.derivation_path))
