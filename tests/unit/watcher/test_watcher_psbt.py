"""The node's funded PSBT made ready for the signer: the signer's own parser reads what we wrote."""

import hashlib
from collections.abc import Iterable

import pytest
from embit import bip32, bip39
from embit.psbt import PSBT, DerivationPath
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from custody.chains import bitcoin as chain
from custody.contract.addresses import AddressBranch, WatchAddress
from custody.signer.chains.bitcoin_psbt import decode_base64, parse_psbt
from custody.signer.derivation import parse_path
from custody.watcher.chains.bitcoin_node import Outpoint
from custody.watcher.chains.bitcoin_psbt import payload_spends, prepare_psbt, signed_spends
from custody.watcher.errors import TemplateError

NET = chain.network("ltc-regtest")
ROOT = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(" ".join(["abandon"] * 11 + ["about"])))
FINGERPRINT = ROOT.my_fingerprint.hex()


def pool_entry(
    at: str, branch: AddressBranch, fingerprint: str | None = FINGERPRINT
) -> WatchAddress:
    pub = bytes(ROOT.derive(at).key.get_public_key().sec())
    return WatchAddress(
        currency="LTC",
        address=chain.p2wpkh_address(NET, pub),
        public_key=pub.hex(),
        derivation_path=at,
        fingerprint=fingerprint,
        branch=branch,
        imported=True,
    )


RECEIVE = [pool_entry(f"m/84'/1'/0'/0/{i}", AddressBranch.RECEIVE) for i in range(2)]
CHANGE = pool_entry("m/84'/1'/0'/1/0", AddressBranch.CHANGE)
PAYEE = b"\x00\x14" + hashlib.sha256(b"somebody else").digest()[:20]


def funding(entry: WatchAddress, value: int, salt: str = "") -> Transaction:
    prev = hashlib.sha256(f"{entry.address}{salt}".encode()).digest()
    script = Script(chain.script_pubkey(NET, entry.address))
    return Transaction(
        version=2, vin=[TransactionInput(prev, 0)], vout=[TransactionOutput(value, script)]
    )


def node_psbt(
    coins: Iterable[tuple[WatchAddress, int]], *, full_prev: bool = True, node_origin: bool = True
) -> tuple[str, dict[str, str]]:
    """A PSBT as walletcreatefundedpsbt answers it: payee, change, previous txs; maybe the
    node's own key origins (an importmulti key is its own master: fingerprint of itself)."""
    prevs = [funding(entry, value) for entry, value in coins]
    vin = [TransactionInput(p.txid(), 0, sequence=0xFFFFFFFD) for p in prevs]
    vout = [
        TransactionOutput(50_000, Script(PAYEE)),
        TransactionOutput(40_000, Script(chain.script_pubkey(NET, CHANGE.address))),
    ]
    psbt = PSBT(Transaction(version=2, vin=vin, vout=vout))
    for (entry, _), prev, scope in zip(coins, prevs, psbt.inputs, strict=True):
        scope.unknown = {}
        scope.witness_utxo = prev.vout[0]
        if full_prev:
            scope.non_witness_utxo = prev
        if node_origin:
            key = ROOT.derive(entry.derivation_path).key.get_public_key()
            scope.bip32_derivations = {key: DerivationPath(b"\x01\x02\x03\x04", [])}
    for scope in psbt.outputs:
        scope.unknown = {}
    return psbt.to_base64(), {p.txid().hex(): p.serialize().hex() for p in prevs}


def lookup(entries: Iterable[WatchAddress]):
    table = {e.address: e for e in entries}
    return lambda addresses: {a: table[a] for a in addresses if a in table}


def test_every_input_and_the_change_carry_the_pool_origin() -> None:
    funded, prevs = node_psbt([(RECEIVE[0], 60_000), (RECEIVE[1], 35_000)])
    ready = prepare_psbt(funded, NET, CHANGE, lookup([*RECEIVE, CHANGE]), prevs.__getitem__)

    parsed = parse_psbt(decode_base64(ready.payload))  # the signer's own strict parser
    assert ready.txid == parsed.tx.txid()
    for scope, entry in zip(parsed.inputs, RECEIVE, strict=True):
        [(pub, found)] = scope.origins.items()
        assert pub.hex() == entry.public_key
        assert (found.fingerprint.hex(), found.path) == (
            FINGERPRINT,
            parse_path(entry.derivation_path),
        )
        assert scope.non_witness_utxo is not None and scope.witness_utxo is not None
    payee, change = parsed.outputs
    assert payee.origins == {}
    [(pub, found)] = change.origins.items()
    assert pub.hex() == CHANGE.public_key and found.path == parse_path(CHANGE.derivation_path)
    assert ready.spends == payload_spends(ready.payload)
    assert len(ready.spends) == 2


def test_a_missing_previous_transaction_is_fetched_from_the_wallet() -> None:
    funded, prevs = node_psbt([(RECEIVE[0], 99_000)], full_prev=False)
    asked: list[str] = []

    def previous(txid: str) -> str:
        asked.append(txid)
        return prevs[txid]

    ready = prepare_psbt(funded, NET, CHANGE, lookup([*RECEIVE, CHANGE]), previous)
    assert asked == list(prevs)
    assert parse_psbt(decode_base64(ready.payload)).inputs[0].non_witness_utxo is not None


def test_a_pool_entry_without_fingerprint_cannot_make_a_template() -> None:
    bare = pool_entry(RECEIVE[0].derivation_path, AddressBranch.RECEIVE, fingerprint=None)
    funded, prevs = node_psbt([(bare, 99_000)])
    with pytest.raises(TemplateError, match="no master fingerprint"):
        prepare_psbt(funded, NET, CHANGE, lookup([bare, CHANGE]), prevs.__getitem__)


def test_an_input_that_is_not_in_the_pool_is_refused() -> None:
    funded, prevs = node_psbt([(RECEIVE[0], 99_000)])
    with pytest.raises(TemplateError, match="not a pool address"):
        prepare_psbt(funded, NET, CHANGE, lookup([CHANGE]), prevs.__getitem__)


def test_a_pool_key_that_does_not_match_its_script_is_refused() -> None:
    liar = RECEIVE[0].model_copy(update={"public_key": RECEIVE[1].public_key})
    funded, prevs = node_psbt([(RECEIVE[0], 99_000)])
    with pytest.raises(TemplateError, match="does not match"):
        prepare_psbt(funded, NET, CHANGE, lookup([liar, CHANGE]), prevs.__getitem__)


def test_spends_of_a_signed_transaction() -> None:
    prev = funding(RECEIVE[0], 10)
    tx = Transaction(
        version=2,
        vin=[TransactionInput(prev.txid(), 0)],
        vout=[TransactionOutput(5, Script(PAYEE))],
    )
    assert signed_spends(tx.serialize().hex()) == {Outpoint(prev.txid().hex(), 0)}
