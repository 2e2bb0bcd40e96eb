"""The Nano codec's edges: mistyped addresses, strict block JSON, thresholds, round trips."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import nano, registry
from custody.chains.errors import AddressError, UnknownNetworkError

ACC = "nano_1e5aqegc1jb7qe964u4adzmcezyo6o146zb8hm6dft8tkp79za3sxwjym5rx"


@given(st.binary(min_size=32, max_size=32))
def test_accounts_round_trip(key: bytes) -> None:
    address = nano.encode_account(key)
    assert nano.decode_account(address) == key
    assert nano.decode_account("xrb_" + address[5:]) == key


@pytest.mark.parametrize(
    "address",
    [
        ACC[:-1] + "1",  # checksum
        ACC[:10] + ("3" if ACC[10] != "3" else "4") + ACC[11:],  # one key character
        ACC.upper(),
        "nano-" + ACC[5:],
        "ban_" + ACC[5:],
        ACC[:-1],
        ACC + "1",
        "nano_4" + ACC[6:],  # first character above the 256-bit range
        "nano_" + "0" * 60,  # 0 is not in the alphabet
    ],
)
def test_mistyped_addresses_are_refused(address: str) -> None:
    with pytest.raises(AddressError):
        nano.decode_account(address)


def test_registry_knows_nano() -> None:
    assert registry.known_networks("nano") == {"nano-live", "nano-dev"}
    assert registry.validate_address("nano", "nano-dev", "xrb_" + ACC[5:]) == ACC
    with pytest.raises(UnknownNetworkError):
        registry.validate_address("nano", "nano-main", ACC)


def test_thresholds_by_subtype() -> None:
    live = nano.network("nano-live").thresholds
    assert live.for_subtype("send") == live.for_subtype("change") == 0xFFFFFFF800000000
    assert live.for_subtype("receive") == live.for_subtype("open") == 0xFFFFFE0000000000
    with pytest.raises(ValueError):
        live.for_subtype("bounce")


def test_units() -> None:
    assert nano.RAW_PER_XNO == 10**30 and nano.DECIMALS == 30
    assert nano.MAX_BALANCE == 2**128 - 1
    with pytest.raises(ValueError):
        nano.state_hash(bytes(32), bytes(32), bytes(32), 2**128, bytes(32))


def test_binary_form_round_trips() -> None:
    block = nano.StateBlock(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, 2**128 - 1, b"\x04" * 32)
    signed = block.with_signature(b"\x05" * 64).with_work(0x0102030405060708)
    data = signed.to_bytes()
    assert len(data) == nano.BLOCK_SIZE
    assert data[-8:] == bytes.fromhex("0102030405060708")  # state blocks: big-endian work
    assert nano.block_from_bytes(data) == signed
    assert nano.block_from_bytes(block.to_bytes()) == block  # no signature, no work


def test_subtype_of_needs_the_previous_balance() -> None:
    block = nano.StateBlock(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, 5, nano.ZERO)
    assert nano.subtype_of(block, 6) == nano.SEND
    assert nano.subtype_of(block, 5) == nano.CHANGE
    assert nano.subtype_of(block, 4) == nano.RECEIVE  # the ledger would refuse it: zero link
    with pytest.raises(ValueError):
        nano.subtype_of(block, None)
