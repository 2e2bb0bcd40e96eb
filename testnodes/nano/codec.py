"""Nano account addresses and hex fields, written here with hashlib (no code shared with custody)."""

from __future__ import annotations

import hashlib

ALPHABET = "13456789abcdefghijkmnopqrstuwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
# The node still decodes the pre-V19 spellings; it flags the dashed ones "deprecated".
_PREFIXES = ("nano_", "xrb_", "nano-", "xrb-")
KEY_CHARS = 52  # 4 zero padding bits + 256 key bits, 5 bits a character
CHECK_CHARS = 8  # 40-bit checksum
ZERO32 = bytes(32)


def _b32encode(value: int, chars: int) -> str:
    out = []
    for _ in range(chars):
        out.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def _b32decode(text: str) -> int:
    value = 0
    for char in text:
        value = (value << 5) | _INDEX[char]
    return value


def _checksum(public_key: bytes) -> bytes:
    # The checksum is the 5-byte blake2b of the key, written byte-reversed.
    return hashlib.blake2b(public_key, digest_size=5).digest()[::-1]


def account_encode(public_key: bytes, prefix: str = "nano_") -> str:
    """Address of a 32-byte public key (`nano_` by default, `xrb_` on request)."""
    if len(public_key) != 32:
        raise ValueError("public key must be 32 bytes")
    key_part = _b32encode(int.from_bytes(public_key, "big"), KEY_CHARS)
    check_part = _b32encode(int.from_bytes(_checksum(public_key), "big"), CHECK_CHARS)
    return prefix + key_part + check_part


def account_decode(text: str) -> bytes:
    """Public key of an address; ValueError on a bad prefix, character or checksum."""
    body = _strip_prefix(text)
    if len(body) != KEY_CHARS + CHECK_CHARS or body[0] not in "13":
        raise ValueError(f"bad account length or first character: {text!r}")
    if any(char not in _INDEX for char in body):
        raise ValueError(f"bad account character: {text!r}")
    key = _b32decode(body[:KEY_CHARS]).to_bytes(32, "big")
    check = _b32decode(body[KEY_CHARS:]).to_bytes(5, "big")
    if check != _checksum(key):
        raise ValueError(f"bad account checksum: {text!r}")
    return key


def _strip_prefix(text: str) -> str:
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    raise ValueError(f"bad account prefix: {text!r}")


def is_deprecated_spelling(text: str) -> bool:
    """True for `nano-`/`xrb-` addresses, which the node answers with deprecated_account_format."""
    return text.startswith(("nano-", "xrb-"))


def hex_decode(text: str, size: int) -> bytes:
    """Exactly `size` bytes from hex of exactly 2*size digits, either case; ValueError otherwise.

    The node also accepts shorter hex; the peer is stricter on purpose (notes §7), so a
    client that sends short fields is caught here rather than on a real node.
    """
    if len(text) != 2 * size or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"expected {2 * size} hex digits: {text!r}")
    return bytes.fromhex(text)


def hex_upper(data: bytes) -> str:
    """Upper-case hex, the node's spelling for hashes, keys and signatures."""
    return data.hex().upper()


def work_hex(work: int) -> str:
    """The node's spelling of a work or difficulty value: 16 lower-case hex digits."""
    return f"{work:016x}"


def decimal_decode(text: str, limit: int = 2**128) -> int:
    """A raw amount from decimal text, as the node's decode_dec: no sign, no leading zero."""
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError(f"not a decimal amount: {text!r}")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"leading zero in amount: {text!r}")
    value = int(text)
    if value >= limit:
        raise ValueError(f"amount out of range: {text!r}")
    return value
