"""Bech32/Bech32m and segwit addresses against every BIP173 and BIP350 vector, plus properties."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import bech32
from custody.chains.bech32 import Encoding
from custody.chains.errors import AddressError

VECTORS = Path(__file__).parents[2] / "vectors"
BIP173: dict[str, Any] = json.loads((VECTORS / "bip173.json").read_text())
BIP350: dict[str, Any] = json.loads((VECTORS / "bip350.json").read_text())


def witness_script(version: int, program: bytes) -> bytes:
    return bytes([version + 0x50 if version else 0, len(program)]) + program


# -- generic strings ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", BIP173["valid_bech32"])
def test_bip173_valid_strings_are_bech32(text: str) -> None:
    hrp, data, encoding = bech32.decode(text)
    assert encoding is Encoding.BECH32
    assert bech32.encode(hrp, data, encoding) == text.lower()


@pytest.mark.parametrize("text", BIP350["valid_bech32m"])
def test_bip350_valid_strings_are_bech32m(text: str) -> None:
    hrp, data, encoding = bech32.decode(text)
    assert encoding is Encoding.BECH32M
    assert bech32.encode(hrp, data, encoding) == text.lower()


@pytest.mark.parametrize(
    "vector",
    BIP173["invalid_bech32"] + BIP350["invalid_bech32m"],
    ids=lambda v: v["reason"],
)
def test_invalid_strings_fail_for_the_bip_reason(vector: dict[str, str]) -> None:
    with pytest.raises(AddressError, match=vector["error"]):
        bech32.decode(vector["string"])


def test_string_of_exactly_90_characters_is_allowed() -> None:
    longest = BIP173["valid_bech32"][2]
    assert len(longest) == 90
    bech32.decode(longest)


def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(AddressError, match="limit is 90"):
        bech32.encode("a" * 84, [], Encoding.BECH32)
    with pytest.raises(AddressError, match="5-bit"):
        bech32.encode("a", [32], Encoding.BECH32)
    with pytest.raises(AddressError, match="lower case"):
        bech32.encode("A", [], Encoding.BECH32)
    with pytest.raises(AddressError, match="empty"):
        bech32.encode("", [], Encoding.BECH32)


# -- segwit addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vector",
    [v for v in BIP173["valid_segwit"] if "bip350" not in v] + BIP350["valid_segwit"],
    ids=lambda v: v["address"][:16],
)
def test_valid_segwit_addresses(vector: dict[str, str]) -> None:
    address = vector["address"]
    hrp = address[: address.rfind("1")].lower()
    version, program = bech32.decode_segwit(hrp, address)
    assert witness_script(version, program).hex() == vector["script_pubkey"]
    assert bech32.encode_segwit(hrp, version, program) == address.lower()


@pytest.mark.parametrize(
    "vector",
    [v for v in BIP173["valid_segwit"] if "bip350" in v],
    ids=lambda v: v["address"][:16],
)
def test_bip173_v1_plus_addresses_are_invalid_since_bip350(vector: dict[str, str]) -> None:
    address = vector["address"]
    hrp = address[: address.rfind("1")].lower()
    with pytest.raises(AddressError, match=vector["bip350"]):
        bech32.decode_segwit(hrp, address)


@pytest.mark.parametrize(
    "vector",
    BIP173["invalid_segwit"] + BIP350["invalid_segwit"],
    ids=lambda v: f"{v['reason']}:{v['address'][:12]}",
)
def test_invalid_segwit_addresses_fail_for_the_bip_reason(vector: dict[str, str]) -> None:
    with pytest.raises(AddressError, match=vector["error"]):
        bech32.decode_segwit(vector["hrp"], vector["address"])
    # The BIPs test against both mainnet and testnet: neither may accept it.
    for hrp in ("bc", "tb"):
        with pytest.raises(AddressError):
            bech32.decode_segwit(hrp, vector["address"])


@pytest.mark.parametrize(
    ("version", "size", "error"),
    [
        (17, 20, "invalid witness version 17"),
        (-1, 20, "invalid witness version -1"),
        (0, 21, "must be 20 or 32 bytes"),
        (1, 1, "program length 1 "),
        (16, 41, "program length 41 "),
    ],
)
def test_encode_segwit_refuses_invalid_programs(version: int, size: int, error: str) -> None:
    with pytest.raises(AddressError, match=error):
        bech32.encode_segwit("bc", version, bytes(size))


def test_encode_segwit_refuses_an_address_over_90_characters() -> None:
    with pytest.raises(AddressError, match="limit is 90"):
        bech32.encode_segwit("a" * 30, 1, bytes(40))


def test_convertbits_rejects_out_of_range_values() -> None:
    with pytest.raises(AddressError, match="does not fit in 8 bits"):
        bech32.convertbits([256], 8, 5, pad=True)


# -- properties --------------------------------------------------------------------------------

hrps = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126).filter(lambda c: not c.isupper()),
    min_size=1,
    max_size=20,
)
encodings = st.sampled_from(list(Encoding))


@st.composite
def segwit_programs(draw: st.DrawFn) -> tuple[int, bytes]:
    version = draw(st.integers(0, 16))
    if version == 0:
        size = draw(st.sampled_from([20, 32]))
    else:
        size = draw(st.integers(2, 40))
    return version, draw(st.binary(min_size=size, max_size=size))


@given(hrps, st.lists(st.integers(0, 31), max_size=60), encodings)
def test_encode_decode_round_trip(hrp: str, data: list[int], encoding: Encoding) -> None:
    text = bech32.encode(hrp, data, encoding)
    assert bech32.decode(text) == (hrp, data, encoding)
    assert bech32.decode(text.upper()) == (hrp, data, encoding)


@given(st.sampled_from(["bc", "tb", "bcrt", "ltc", "tltc", "rltc"]), segwit_programs())
def test_segwit_round_trip(hrp: str, program: tuple[int, bytes]) -> None:
    version, data = program
    address = bech32.encode_segwit(hrp, version, data)
    assert bech32.decode_segwit(hrp, address) == (version, data)
    assert bech32.decode_segwit(hrp, address.upper()) == (version, data)


@given(segwit_programs(), st.data())
def test_any_single_substitution_is_detected(
    program: tuple[int, bytes], data: st.DataObject
) -> None:
    # BCH guarantee: every error of up to 4 substituted characters is caught.
    address = bech32.encode_segwit("bc", *program)
    pos = data.draw(st.integers(3, len(address) - 1))
    new = data.draw(st.sampled_from(bech32.CHARSET).filter(lambda c: c != address[pos]))
    with pytest.raises(AddressError):
        bech32.decode_segwit("bc", address[:pos] + new + address[pos + 1 :])
