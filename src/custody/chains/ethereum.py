"""Ethereum network chain ids and the EIP-55 address codec."""

import re

import coincurve
from eth_hash.auto import keccak

from custody.chains.errors import AddressError, UnknownNetworkError

NETWORKS: dict[str, int] = {
    "eth-main": 1,
    "eth-sepolia": 11155111,
    "eth-holesky": 17000,
    "eth-anvil": 31337,
}

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def chain_id(net_name: str) -> int:
    """The EIP-155 chain id of network `net_name`, or UnknownNetworkError."""
    try:
        return NETWORKS[net_name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise UnknownNetworkError(
            f"unknown ethereum network {net_name!r} (known: {known})"
        ) from None


def _checksum_hex(lower_hex: str) -> str:
    # EIP-55: upper-case the i-th hex letter when the i-th nibble of keccak(hex text) is >= 8.
    digest = keccak(lower_hex.encode("ascii")).hex()
    return "".join(
        char.upper() if int(nibble, 16) >= 8 else char
        for char, nibble in zip(lower_hex, digest, strict=False)
    )


def to_checksum_address(addr: str) -> str:
    """The EIP-55 mixed-case form of a 0x-prefixed 20-byte hex address (any case in)."""
    if not _ADDRESS.fullmatch(addr):
        raise AddressError("ethereum address must be 0x followed by 40 hex digits")
    return "0x" + _checksum_hex(addr[2:].lower())


def validate_address(net_name: str, address: str) -> str:
    """Check an address for network `net_name` and return it in EIP-55 form.

    All-lower and all-upper addresses carry no checksum and are accepted; a mixed-case one
    must match EIP-55 exactly, since a wrong case there means a mistyped character.
    """
    chain_id(net_name)
    checksummed = to_checksum_address(address)
    body = address[2:]
    if body not in (body.lower(), body.upper()) and address != checksummed:
        raise AddressError("EIP-55 checksum mismatch")
    return checksummed


def address_from_public_key(public_key: bytes) -> str:
    """The EIP-55 address of a secp256k1 public key, compressed (33) or uncompressed (65 bytes)."""
    if len(public_key) not in (33, 65):
        raise AddressError(f"public key must be 33 or 65 bytes, not {len(public_key)}")
    try:
        point = coincurve.PublicKey(public_key).format(compressed=False)
    except ValueError as e:
        raise AddressError("public key is not a point on secp256k1") from e
    # The address is the last 20 bytes of keccak(x || y), without the 0x04 prefix.
    return to_checksum_address("0x" + keccak(bytes(point)[1:])[-20:].hex())
