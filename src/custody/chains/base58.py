"""Base58 and Base58Check (double SHA-256 checksum), as legacy Bitcoin-family addresses use."""

import hashlib

from custody.chains.errors import AddressError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
CHECKSUM_LENGTH = 4


def checksum(payload: bytes) -> bytes:
    """The first four bytes of SHA-256(SHA-256(payload))."""
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:CHECKSUM_LENGTH]


def b58encode(data: bytes) -> str:
    """Encode bytes; each leading zero byte becomes a leading '1'."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(ALPHABET[rem])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode a Base58 string; each leading '1' becomes a leading zero byte."""
    number = 0
    for pos, char in enumerate(text):
        value = _INDEX.get(char)
        if value is None:
            raise AddressError(f"invalid base58 character {char!r} at position {pos}")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


def b58check_encode(payload: bytes) -> str:
    """Encode payload followed by its 4-byte double SHA-256 checksum."""
    return b58encode(payload + checksum(payload))


def b58check_decode(text: str) -> bytes:
    """Decode a Base58Check string and return the payload without its checksum."""
    raw = b58decode(text)
    if len(raw) < CHECKSUM_LENGTH:
        raise AddressError("base58check string too short to hold a checksum")
    payload, check = raw[:-CHECKSUM_LENGTH], raw[-CHECKSUM_LENGTH:]
    if checksum(payload) != check:
        raise AddressError("base58 checksum mismatch")
    return payload
