"""A strict PSBT (BIP174 version 0) parser, the transaction model and the BIP143 digest."""

import base64
import binascii
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R

MAGIC = b"psbt\xff"
SIGHASH_ALL = 1
# Smallest value each wider compact-size form may carry; anything less must use a shorter one.
_COMPACT = {0xFD: (2, 0xFD), 0xFE: (4, 0x1_0000), 0xFF: (8, 0x1_0000_0000)}


def sha256d(data: bytes) -> bytes:
    """Bitcoin's double SHA-256."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def compact_size(n: int) -> bytes:
    """Bitcoin's variable-length integer."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


@dataclass(frozen=True)
class TxIn:
    """A transaction input; `prev_hash` is in wire (little-endian) order."""

    prev_hash: bytes
    vout: int
    script_sig: bytes
    sequence: int

    @property
    def outpoint(self) -> str:
        """txid:vout as block explorers and the journal write it."""
        return f"{self.prev_hash[::-1].hex()}:{self.vout}"


@dataclass(frozen=True)
class TxOut:
    """A transaction output."""

    value: int
    script: bytes

    def serialize(self) -> bytes:
        """Wire form: 8-byte value, then the script with its length."""
        return self.value.to_bytes(8, "little") + compact_size(len(self.script)) + self.script


@dataclass(frozen=True)
class Transaction:
    """A transaction without its witnesses (they are never part of what we check)."""

    version: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    locktime: int

    def serialize(self, witnesses: Sequence[Sequence[bytes]] | None = None) -> bytes:
        """Legacy serialization, or BIP144 segwit serialization when witnesses are given."""
        parts = [self.version.to_bytes(4, "little")]
        if witnesses is not None:
            parts.append(b"\x00\x01")
        parts.append(compact_size(len(self.inputs)))
        for i in self.inputs:
            parts += [
                i.prev_hash,
                i.vout.to_bytes(4, "little"),
                compact_size(len(i.script_sig)),
                i.script_sig,
                i.sequence.to_bytes(4, "little"),
            ]
        parts.append(compact_size(len(self.outputs)))
        parts += [o.serialize() for o in self.outputs]
        for stack in witnesses or ():
            parts.append(compact_size(len(stack)))
            parts += [compact_size(len(item)) + item for item in stack]
        parts.append(self.locktime.to_bytes(4, "little"))
        return b"".join(parts)

    def txid(self) -> str:
        """The transaction id in display (big-endian hex) order."""
        return sha256d(self.serialize())[::-1].hex()


@dataclass(frozen=True)
class KeyOrigin:
    """A BIP32 key origin from the PSBT: master fingerprint and path. A claim, not a fact."""

    fingerprint: bytes
    path: tuple[int, ...]


@dataclass
class PsbtInput:
    """The per-input map fields the signer understands."""

    non_witness_utxo: Transaction | None = None
    witness_utxo: TxOut | None = None
    sighash_type: int | None = None
    origins: dict[bytes, KeyOrigin] = field(default_factory=dict)


@dataclass
class PsbtOutput:
    """The per-output map fields the signer understands."""

    origins: dict[bytes, KeyOrigin] = field(default_factory=dict)


@dataclass(frozen=True)
class Psbt:
    """A parsed PSBT: the unsigned transaction and one map per input and output."""

    tx: Transaction
    inputs: tuple[PsbtInput, ...]
    outputs: tuple[PsbtOutput, ...]


class _Reader:
    """Reads exactly what is there; running short is `short_code`, never a silent zero."""

    def __init__(self, data: bytes, short_code: R, what: str):
        self.data, self.pos, self.short_code, self.what = data, 0, short_code, what

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise Refusal(self.short_code, f"{self.what} ends early at byte {len(self.data)}")
        chunk, self.pos = self.data[self.pos : end], end
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def compact(self) -> int:
        first = self.uint(1)
        if first < 0xFD:
            return first
        size, minimum = _COMPACT[first]
        value = self.uint(size)
        if value < minimum:
            raise Refusal(R.PSBT_MALFORMED, f"{self.what} has a non-canonical length prefix")
        return value

    def var_bytes(self) -> bytes:
        return self.take(self.compact())

    @property
    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def done(self, code: R = R.PSBT_MALFORMED) -> None:
        if not self.at_end:
            raise Refusal(code, f"{len(self.data) - self.pos} unexpected bytes after {self.what}")


def decode_base64(payload: str) -> bytes:
    """Strict base64: only the canonical encoding of some bytes is accepted."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(R.PAYLOAD_NOT_BASE64, "the payload is not base64") from None
    if base64.b64encode(raw).decode("ascii") != payload:
        raise Refusal(R.PAYLOAD_NOT_BASE64, "the payload is not canonical base64")
    return raw


def parse_transaction(data: bytes, *, allow_witness: bool, what: str) -> Transaction:
    """A whole serialized transaction; witnesses (when allowed) are read and dropped."""
    r = _Reader(data, R.PSBT_MALFORMED, what)
    version = r.uint(4)
    count = r.compact()
    segwit = count == 0 and allow_witness
    if segwit:
        if r.uint(1) != 1:
            raise Refusal(R.PSBT_MALFORMED, f"{what} has a bad segwit flag")
        count = r.compact()
    if count == 0:
        raise Refusal(R.PSBT_MALFORMED, f"{what} has no inputs")
    inputs = tuple(TxIn(r.take(32), r.uint(4), r.var_bytes(), r.uint(4)) for _ in range(count))
    outputs = tuple(TxOut(r.uint(8), r.var_bytes()) for _ in range(r.compact()))
    if not outputs:
        raise Refusal(R.PSBT_MALFORMED, f"{what} has no outputs")
    if segwit:
        for _ in inputs:
            for _ in range(r.compact()):
                r.var_bytes()
    tx = Transaction(version, inputs, outputs, r.uint(4))
    r.done()
    return tx


def _parse_txout(data: bytes, what: str) -> TxOut:
    r = _Reader(data, R.PSBT_MALFORMED, what)
    out = TxOut(r.uint(8), r.var_bytes())
    r.done()
    return out


def _parse_origin(key: bytes, value: bytes, what: str) -> tuple[bytes, KeyOrigin]:
    if len(key) != 34 or key[1] not in (2, 3):
        raise Refusal(R.PSBT_UNSUPPORTED, f"{what}: key origin for a non-compressed public key")
    if len(value) < 4 or len(value) % 4:
        raise Refusal(R.PSBT_MALFORMED, f"{what}: key origin has {len(value)} bytes")
    path = tuple(int.from_bytes(value[i : i + 4], "little") for i in range(4, len(value), 4))
    return key[1:], KeyOrigin(value[:4], path)


def _read_map(r: _Reader, what: str, on_field: Callable[[bytes, bytes], None]) -> None:
    """Key-value pairs up to the separator; a repeated key is malformed (BIP174)."""
    seen: set[bytes] = set()
    while key := r.var_bytes():
        value = r.var_bytes()
        if key in seen:
            raise Refusal(R.PSBT_MALFORMED, f"{what}: key 0x{key.hex()[:16]} appears twice")
        seen.add(key)
        if key[0] != 0xFC:  # proprietary fields are ignored: they change nothing we sign
            on_field(key, value)


def _single(key: bytes, what: str) -> None:
    if len(key) != 1:
        raise Refusal(R.PSBT_MALFORMED, f"{what}: field 0x{key[0]:02x} has a key payload")


def _global_field(found: list[Transaction], key: bytes, value: bytes) -> None:
    kind = key[0]
    if kind == 0x00:
        _single(key, "global map")
        tx = parse_transaction(value, allow_witness=False, what="unsigned transaction")
        if any(i.script_sig for i in tx.inputs):
            raise Refusal(R.PSBT_MALFORMED, "unsigned transaction has a non-empty scriptSig")
        found.append(tx)
    elif kind == 0xFB:
        _single(key, "global map")
        if value != b"\x00\x00\x00\x00":
            raise Refusal(R.PSBT_UNSUPPORTED, "only PSBT version 0 is supported")
    elif kind != 0x01:  # 0x01: an xpub, informational
        raise Refusal(R.PSBT_UNSUPPORTED, f"global field type 0x{kind:02x} is not supported")


_INPUT_REFUSALS = {
    0x02: (R.PSBT_UNSUPPORTED, "already carries a partial signature"),
    0x04: (R.INPUT_SCRIPT_UNSUPPORTED, "has a redeem script (only P2WPKH is signed)"),
    0x05: (R.INPUT_SCRIPT_UNSUPPORTED, "has a witness script (only P2WPKH is signed)"),
    0x07: (R.PSBT_UNSUPPORTED, "is already finalized"),
    0x08: (R.PSBT_UNSUPPORTED, "is already finalized"),
}


def _input_field(inp: PsbtInput, what: str, key: bytes, value: bytes) -> None:
    kind = key[0]
    if kind == 0x00:
        _single(key, what)
        inp.non_witness_utxo = parse_transaction(
            value, allow_witness=True, what=f"{what} previous transaction"
        )
    elif kind == 0x01:
        _single(key, what)
        inp.witness_utxo = _parse_txout(value, f"{what} witness utxo")
    elif kind == 0x03:
        _single(key, what)
        if len(value) != 4:
            raise Refusal(R.PSBT_MALFORMED, f"{what}: sighash type is not 4 bytes")
        inp.sighash_type = int.from_bytes(value, "little")
    elif kind == 0x06:
        pubkey, origin = _parse_origin(key, value, what)
        inp.origins[pubkey] = origin
    elif kind in _INPUT_REFUSALS:
        code, text = _INPUT_REFUSALS[kind]
        raise Refusal(code, f"{what} {text}")
    else:
        raise Refusal(R.PSBT_UNSUPPORTED, f"{what}: field type 0x{kind:02x} is not supported")


def _output_field(out: PsbtOutput, what: str, key: bytes, value: bytes) -> None:
    if key[0] != 0x02:
        raise Refusal(R.PSBT_UNSUPPORTED, f"{what}: field type 0x{key[0]:02x} is not supported")
    pubkey, origin = _parse_origin(key, value, what)
    out.origins[pubkey] = origin


def parse_psbt(raw: bytes) -> Psbt:
    """Parse a PSBT v0 completely: every byte accounted for, every known field checked."""
    r = _Reader(raw, R.PSBT_TRUNCATED, "PSBT")
    if raw[: len(MAGIC)] != MAGIC:
        raise Refusal(R.PSBT_MALFORMED, "not a PSBT (bad magic bytes)")
    r.take(len(MAGIC))
    found: list[Transaction] = []
    _read_map(r, "global map", functools.partial(_global_field, found))
    if not found:
        raise Refusal(R.PSBT_MALFORMED, "PSBT has no unsigned transaction")
    tx = found[0]
    inputs = tuple(PsbtInput() for _ in tx.inputs)
    for n, inp in enumerate(inputs):
        what = f"input {n}"
        _read_map(r, what, functools.partial(_input_field, inp, what))
    outputs = tuple(PsbtOutput() for _ in tx.outputs)
    for n, out in enumerate(outputs):
        what = f"output {n}"
        _read_map(r, what, functools.partial(_output_field, out, what))
    r.done(R.PSBT_TRAILING_DATA)
    return Psbt(tx, inputs, outputs)


class Bip143:
    """BIP143 (segwit v0) signature digests of one transaction, sharing the common hashes."""

    def __init__(self, tx: Transaction):
        self.tx = tx
        self._prevouts = sha256d(
            b"".join(i.prev_hash + i.vout.to_bytes(4, "little") for i in tx.inputs)
        )
        self._sequences = sha256d(b"".join(i.sequence.to_bytes(4, "little") for i in tx.inputs))
        self._outputs = sha256d(b"".join(o.serialize() for o in tx.outputs))

    def digest(self, index: int, script_code: bytes, value: int) -> bytes:
        """The SIGHASH_ALL digest of input `index` spending `value` under `script_code`."""
        i = self.tx.inputs[index]
        return sha256d(
            b"".join(
                (
                    self.tx.version.to_bytes(4, "little"),
                    self._prevouts,
                    self._sequences,
                    i.prev_hash,
                    i.vout.to_bytes(4, "little"),
                    compact_size(len(script_code)),
                    script_code,
                    value.to_bytes(8, "little"),
                    i.sequence.to_bytes(4, "little"),
                    self._outputs,
                    self.tx.locktime.to_bytes(4, "little"),
                    SIGHASH_ALL.to_bytes(4, "little"),
                )
            )
        )
