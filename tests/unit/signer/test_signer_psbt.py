"""The strict PSBT parser: embit's PSBTs parse, digests match embit's, nothing else gets through."""

import pytest
from embit.transaction import SIGHASH, Transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.signer.chains.bitcoin_psbt import (
    Bip143,
    decode_base64,
    parse_psbt,
    parse_transaction,
)
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from tests.support.signer_templates import encode, standard_case

CASE = standard_case()
EMBIT_PSBT = CASE.psbt()
RAW = EMBIT_PSBT.serialize()


def test_parses_what_embit_writes() -> None:
    psbt = parse_psbt(RAW)
    payload, txid = encode(EMBIT_PSBT)
    assert psbt.tx.txid() == txid
    assert psbt.tx.serialize() == EMBIT_PSBT.tx.serialize()
    assert len(psbt.inputs) == 2 and len(psbt.outputs) == 2
    for ours, theirs in zip(psbt.inputs, EMBIT_PSBT.inputs, strict=True):
        assert ours.witness_utxo is not None
        assert ours.witness_utxo.value == theirs.witness_utxo.value
        assert ours.non_witness_utxo is not None
        assert ours.non_witness_utxo.txid() == theirs.non_witness_utxo.txid().hex()
        [(pub, origin)] = ours.origins.items()
        [(their_pub, their_origin)] = theirs.bip32_derivations.items()
        assert pub == their_pub.sec() and list(origin.path) == their_origin.derivation
    assert list(psbt.outputs[1].origins) and not psbt.outputs[0].origins
    assert decode_base64(payload) == RAW


def test_bip143_digests_match_embit() -> None:
    psbt = parse_psbt(RAW)
    hasher = Bip143(psbt.tx)
    for n, inp in enumerate(psbt.inputs):
        assert len(inp.origins) == 1
        assert inp.witness_utxo is not None
        script_code = b"\x76\xa9\x14" + inp.witness_utxo.script[2:] + b"\x88\xac"
        assert hasher.digest(n, script_code, inp.witness_utxo.value) == EMBIT_PSBT.sighash(
            n, SIGHASH.ALL
        )


def test_prev_tx_in_segwit_serialization_keeps_its_txid() -> None:
    tx = Transaction.parse(EMBIT_PSBT.inputs[0].non_witness_utxo.serialize())
    tx.vin[0].witness.items = [b"\x01" * 71, b"\x02" * 33]
    segwit = tx.serialize()
    assert segwit[4:6] == b"\x00\x01"
    parsed = parse_transaction(segwit, allow_witness=True, what="prev")
    assert parsed.txid() == tx.txid().hex()
    with pytest.raises(Refusal) as e:
        parse_transaction(segwit, allow_witness=False, what="unsigned")
    assert e.value.code is R.PSBT_MALFORMED


def _code(raw: bytes) -> R:
    with pytest.raises(Refusal) as e:
        parse_psbt(raw)
    return e.value.code


def test_every_truncation_is_refused() -> None:
    for cut in range(len(RAW)):
        assert _code(RAW[:cut]) in (R.PSBT_TRUNCATED, R.PSBT_MALFORMED), cut


@pytest.mark.parametrize("extra", [b"\x00", b"\x01\x02\x03", RAW])
def test_trailing_bytes_are_refused(extra: bytes) -> None:
    assert _code(RAW + extra) is R.PSBT_TRAILING_DATA


def test_non_canonical_length_prefix() -> None:
    # The first key length (0x01) written as 0xfd 0x01 0x00 is valid-looking but not canonical.
    assert RAW[5] == 0x01
    assert _code(RAW[:5] + b"\xfd\x01\x00" + RAW[6:]) is R.PSBT_MALFORMED


def test_duplicate_global_key() -> None:
    tx = EMBIT_PSBT.tx.serialize()
    field = b"\x01\x00" + bytes([len(tx)]) + tx if len(tx) < 0xFD else None
    assert field is not None
    assert _code(RAW[:5] + field + RAW[5:]) is R.PSBT_MALFORMED


@pytest.mark.parametrize(
    ("text", "code"),
    [("not base64!", R.PAYLOAD_NOT_BASE64), ("cHNidP8=\n", R.PAYLOAD_NOT_BASE64),
     ("cHNidP9=", R.PAYLOAD_NOT_BASE64)],
)
def test_base64_must_be_canonical(text: str, code: R) -> None:
    with pytest.raises(Refusal) as e:
        decode_base64(text)
    assert e.value.code is code


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_refuse(data: bytes) -> None:
    with pytest.raises(Refusal):
        parse_psbt(b"psbt\xff" + data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=5, max_value=len(RAW) - 1), st.integers(min_value=1, max_value=255))
def test_flipped_bytes_parse_or_refuse(position: int, xor: int) -> None:
    """A damaged PSBT either still parses (a value changed) or is refused; nothing else."""
    mutated = bytearray(RAW)
    mutated[position] ^= xor
    try:
        parse_psbt(bytes(mutated))
    except Refusal as e:
        assert e.code in {R.PSBT_MALFORMED, R.PSBT_TRUNCATED, R.PSBT_TRAILING_DATA,
                          R.PSBT_UNSUPPORTED, R.INPUT_SCRIPT_UNSUPPORTED}
