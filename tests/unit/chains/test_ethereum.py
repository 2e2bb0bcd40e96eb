"""Ethereum networks and EIP-55 addresses, and the registry that dispatches per family."""

import json
from pathlib import Path

import coincurve
import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address as eth_utils_checksum
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import ethereum, registry
from custody.chains.errors import AddressError, UnknownNetworkError

EIP55: dict[str, list[str]] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "eip55.json").read_text()
)
ALL_EIP55 = [a for key in ("all_caps", "all_lower", "normal") for a in EIP55[key]]
ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_chain_ids() -> None:
    assert ethereum.NETWORKS == {
        "eth-main": 1,
        "eth-sepolia": 11155111,
        "eth-holesky": 17000,
        "eth-anvil": 31337,
    }
    assert ethereum.chain_id("eth-anvil") == 31337
    with pytest.raises(UnknownNetworkError, match="unknown ethereum network 'eth-goerli'"):
        ethereum.chain_id("eth-goerli")


@pytest.mark.parametrize("address", ALL_EIP55)
def test_eip55_vectors(address: str) -> None:
    assert ethereum.to_checksum_address(address.lower()) == address
    assert ethereum.to_checksum_address(address.upper().replace("0X", "0x")) == address
    assert ethereum.validate_address("eth-main", address) == address


@pytest.mark.parametrize("address", EIP55["normal"])
def test_single_case_forms_are_accepted_and_checksummed(address: str) -> None:
    body = address[2:]
    assert ethereum.validate_address("eth-sepolia", "0x" + body.lower()) == address
    assert ethereum.validate_address("eth-sepolia", "0x" + body.upper()) == address


@pytest.mark.parametrize("address", EIP55["normal"])
def test_one_letter_in_the_wrong_case_is_a_checksum_mismatch(address: str) -> None:
    pos = next(i for i, c in enumerate(address) if i >= 2 and c.isalpha())
    flipped = address[:pos] + address[pos].swapcase() + address[pos + 1 :]
    with pytest.raises(AddressError, match="EIP-55 checksum mismatch"):
        ethereum.validate_address("eth-main", flipped)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "0x",
        ADDRESS[:-1],
        ADDRESS + "0",
        ADDRESS[2:],
        "0X" + ADDRESS[2:],
        "0x" + "g" * 40,
        " " + ADDRESS,
        ADDRESS + "\n",
    ],
)
def test_malformed_addresses_are_rejected(address: str) -> None:
    with pytest.raises(AddressError, match="0x followed by 40 hex digits"):
        ethereum.validate_address("eth-main", address)


def test_unknown_network_is_rejected_even_for_a_good_address() -> None:
    with pytest.raises(UnknownNetworkError, match="eth-ropsten"):
        ethereum.validate_address("eth-ropsten", ADDRESS)


@pytest.mark.parametrize(
    ("secret", "address"),
    [
        (1, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"),
        (2, "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"),
    ],
)
def test_address_from_public_key(secret: int, address: str) -> None:
    public = coincurve.PrivateKey.from_int(secret).public_key
    assert ethereum.address_from_public_key(public.format(compressed=True)) == address
    assert ethereum.address_from_public_key(public.format(compressed=False)) == address


@pytest.mark.parametrize(
    ("public_key", "error"),
    [
        (bytes(64), "33 or 65 bytes, not 64"),
        (b"\x04" + bytes(64), "not a point on secp256k1"),
        (b"\x02" + bytes(32), "not a point on secp256k1"),
    ],
)
def test_address_from_public_key_refuses_bad_keys(public_key: bytes, error: str) -> None:
    with pytest.raises(AddressError, match=error):
        ethereum.address_from_public_key(public_key)


# -- properties --------------------------------------------------------------------------------


@given(st.binary(min_size=20, max_size=20))
def test_checksum_agrees_with_eth_utils(raw: bytes) -> None:
    lower = "0x" + raw.hex()
    checksummed = ethereum.to_checksum_address(lower)
    assert checksummed == eth_utils_checksum(lower)
    assert ethereum.validate_address("eth-anvil", checksummed) == checksummed
    assert ethereum.validate_address("eth-anvil", lower.upper().replace("0X", "0x")) == checksummed


@given(st.integers(min_value=1, max_value=coincurve.utils.GROUP_ORDER_INT - 1))
def test_address_from_public_key_agrees_with_eth_account(secret: int) -> None:
    key = coincurve.PrivateKey.from_int(secret)
    expected = Account.from_key(key.secret).address
    assert ethereum.address_from_public_key(key.public_key.format()) == expected


# -- registry ----------------------------------------------------------------------------------


def test_registry_dispatches_to_each_family() -> None:
    assert registry.validate_address("ethereum", "eth-main", ADDRESS.lower()) == ADDRESS
    segwit = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
    assert registry.validate_address("bitcoin", "btc-main", segwit) == segwit.lower()
    with pytest.raises(AddressError, match="another network"):
        registry.validate_address("bitcoin", "ltc-main", segwit)


def test_registry_networks() -> None:
    assert registry.known_networks("bitcoin") == {
        "btc-main",
        "btc-test",
        "btc-regtest",
        "ltc-main",
        "ltc-test",
        "ltc-regtest",
    }
    assert registry.known_networks("ethereum") == set(ethereum.NETWORKS)
    assert registry.known_networks("nano") == frozenset({"nano-live", "nano-dev"})


def test_registry_unknown_family() -> None:
    with pytest.raises(UnknownNetworkError, match="unknown chain family 'solana'"):
        registry.validate_address("solana", "sol-main", "x")
    with pytest.raises(UnknownNetworkError, match="unknown chain family 'solana'"):
        registry.known_networks("solana")
