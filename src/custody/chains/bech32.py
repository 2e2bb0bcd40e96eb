"""Bech32 (BIP173) and Bech32m (BIP350) strings and the segwit addresses built on them."""

from collections.abc import Iterable, Sequence
from enum import Enum

from custody.chains.errors import AddressError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
MAX_LENGTH = 90
CHECKSUM_LENGTH = 6
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Encoding(Enum):
    """The checksum variant; the value is the constant the checksum polymod must end at."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _checksum(hrp: str, data: Sequence[int], encoding: Encoding) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.value
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(CHECKSUM_LENGTH)]


def _check_hrp(hrp: str) -> None:
    if not hrp:
        raise AddressError("bech32 human-readable part is empty")
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise AddressError("bech32 human-readable part has a character out of range")
    if hrp != hrp.lower():
        raise AddressError("bech32 human-readable part must be lower case to encode")


def encode(hrp: str, data: Sequence[int], encoding: Encoding) -> str:
    """Encode 5-bit values under a human-readable part, appending the checksum."""
    _check_hrp(hrp)
    if any(not 0 <= v < 32 for v in data):
        raise AddressError("bech32 data values must be 5-bit (0..31)")
    combined = [*data, *_checksum(hrp, data, encoding)]
    result = hrp + "1" + "".join(CHARSET[v] for v in combined)
    if len(result) > MAX_LENGTH:
        raise AddressError(f"bech32 string would be {len(result)} characters, limit is 90")
    return result


def _check_characters(bech: str) -> None:
    for pos, char in enumerate(bech):
        if not 33 <= ord(char) <= 126:
            raise AddressError(f"bech32 character out of range at position {pos}")
    if len(bech) > MAX_LENGTH:
        raise AddressError(f"bech32 string is {len(bech)} characters, limit is 90")
    # Case carries no information, so a mix of both is a sign of corruption (BIP173).
    if bech.lower() != bech and bech.upper() != bech:
        raise AddressError("bech32 string has mixed case")


def decode(bech: str) -> tuple[str, list[int], Encoding]:
    """Split a Bech32 or Bech32m string into (hrp, 5-bit data without checksum, encoding)."""
    _check_characters(bech)
    bech = bech.lower()
    pos = bech.rfind("1")
    if pos < 0:
        raise AddressError("bech32 string has no separator '1'")
    if pos == 0:
        raise AddressError("bech32 human-readable part is empty")
    if len(bech) - pos - 1 < CHECKSUM_LENGTH:
        raise AddressError("bech32 checksum too short")
    hrp = bech[:pos]
    data: list[int] = []
    for offset, char in enumerate(bech[pos + 1 :], start=pos + 1):
        value = CHARSET.find(char)
        if value < 0:
            raise AddressError(f"bech32 invalid data character {char!r} at position {offset}")
        data.append(value)
    residue = _polymod([*_hrp_expand(hrp), *data])
    for encoding in Encoding:
        if residue == encoding.value:
            return hrp, data[:-CHECKSUM_LENGTH], encoding
    raise AddressError("bech32 checksum mismatch")


def convertbits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroup bits (8 to 5 with padding for encoding, 5 to 8 without for decoding)."""
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise AddressError(f"value {value} does not fit in {frombits} bits")
        acc = (acc << frombits | value) & 0xFFFFFFFF
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits:
        raise AddressError("bech32 data has more than 4 bits of zero padding")
    elif (acc << (tobits - bits)) & maxv:
        raise AddressError("bech32 data has non-zero padding")
    return out


def _witness_program(data: Sequence[int], encoding: Encoding) -> tuple[int, bytes]:
    if not data:
        raise AddressError("segwit address has an empty data section")
    version = data[0]
    if version > 16:
        raise AddressError(f"invalid witness version {version}")
    program = bytes(convertbits(data[1:], 5, 8, pad=False))
    if not 2 <= len(program) <= 40:
        raise AddressError(f"invalid witness program length {len(program)} (must be 2 to 40)")
    if version == 0 and len(program) not in (20, 32):
        raise AddressError(f"witness version 0 program must be 20 or 32 bytes, not {len(program)}")
    # BIP350: v0 keeps bech32, v1+ use bech32m, so an old v0-only parser cannot misread v1+.
    expected = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    if encoding is not expected:
        raise AddressError(
            f"witness version {version} must use {expected.name.lower()} checksum, "
            f"not {encoding.name.lower()}"
        )
    return version, program


def decode_segwit(hrp: str, addr: str) -> tuple[int, bytes]:
    """Decode a segwit address for the given human-readable part into (version, program)."""
    got, data, encoding = decode(addr)
    if got != hrp:
        raise AddressError(f"bech32 human-readable part is {got!r}, expected {hrp!r}")
    return _witness_program(data, encoding)


def encode_segwit(hrp: str, version: int, program: bytes) -> str:
    """Encode a witness version and program as a segwit address (bech32 for v0, else bech32m)."""
    if not 0 <= version <= 16:
        raise AddressError(f"invalid witness version {version}")
    encoding = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    address = encode(hrp, [version, *convertbits(program, 8, 5, pad=True)], encoding)
    # Round-trip so that every length rule lives in one place (_witness_program).
    decode_segwit(hrp, address)
    return address
