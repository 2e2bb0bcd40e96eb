"""Base58 and Base58Check against Bitcoin Core's vectors, plus round-trip properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import base58
from custody.chains.errors import AddressError

# bitcoin/bitcoin src/test/data/base58_encode_decode.json
ENCODE_DECODE = [
    ("", ""),
    ("61", "2g"),
    ("626262", "a3gV"),
    ("636363", "aPEr"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"),
    ("bf4f89001e670274dd", "3SEo3LWLoPntC"),
    ("572e4794", "3EFU7m"),
    ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
    ("10c8511e", "Rt5zm"),
    ("00000000000000000000", "1111111111"),
    ("00" * 40, "1" * 40),
    ("00" * 39 + "01", "1" * 39 + "2"),
    (
        "00" * 86 + "ec39d04c37e71e5d591881f6",
        "1" * 86 + "5TYzLYH1udmLdzCLM",
    ),
    (
        "000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
        "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    ),
    (
        bytes(range(256)).hex(),
        "1cWB5HCBdLjAuqGGReWE3R3CguuwSjw6RHn39s2yuDRTS5NsBgNiFpWgAnEx6VQi8csexkgYw3mdYrMH"
        "r8x9i7aEwP8kZ7vccXWqKDvGv3u1GxFKPuAkn8JCPPGDMf3vMMnbzm6Nh9zh1gcNsMvH3ZNLmP5fSG6D"
        "Gbbi2tuwMWPthr4boWwCxf7ewSgNQeacyozhKDDQQ1qL5fQFUW52QKUZDZ5fw3KXNQJMcNTcaB723Lch"
        "jeKun7MuGW5qyCBZYzA1KjofN1gYBV3NqyhQJ3Ns746GNuf9N2pQPmHz4xpnSrrfCvy6TVVz5d4Pdrje"
        "shsWQwpZsZGzvbdAdN8MKV5QsBDY",
    ),
    ("271F359E", "zzzzy"),
    ("271F359F", "zzzzz"),
    ("271F35A0", "211111"),
    ("271F35A1", "211112"),
]


@pytest.mark.parametrize(("hex_data", "text"), ENCODE_DECODE)
def test_bitcoin_core_vectors(hex_data: str, text: str) -> None:
    assert base58.b58encode(bytes.fromhex(hex_data)) == text
    assert base58.b58decode(text) == bytes.fromhex(hex_data)


@pytest.mark.parametrize("char", ["0", "O", "I", "l", " ", "+", "é"])
def test_characters_outside_the_alphabet_are_rejected(char: str) -> None:
    with pytest.raises(AddressError, match="invalid base58 character"):
        base58.b58decode("2g" + char)


def test_check_decode_of_the_genesis_address() -> None:
    payload = base58.b58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
    assert payload.hex() == "0062e907b15cbf27d5425399ebf6f0fb50ebb88f18"
    assert base58.b58check_encode(payload) == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


def test_check_decode_rejects_a_changed_character() -> None:
    with pytest.raises(AddressError, match="base58 checksum mismatch"):
        base58.b58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")


def test_check_decode_rejects_strings_too_short_for_a_checksum() -> None:
    with pytest.raises(AddressError, match="too short"):
        base58.b58check_decode("2g")


@given(st.binary(max_size=64))
def test_round_trip(data: bytes) -> None:
    assert base58.b58decode(base58.b58encode(data)) == data


@given(st.binary(max_size=64))
def test_check_round_trip(payload: bytes) -> None:
    assert base58.b58check_decode(base58.b58check_encode(payload)) == payload


@given(st.binary(min_size=1, max_size=40), st.data())
def test_check_detects_a_substituted_character(payload: bytes, data: st.DataObject) -> None:
    text = base58.b58check_encode(payload)
    pos = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(st.sampled_from(base58.ALPHABET).filter(lambda c: c != text[pos]))
    changed = text[:pos] + new + text[pos + 1 :]
    # A substitution of a leading '1' can change the length, which also fails the checksum.
    with pytest.raises(AddressError):
        base58.b58check_decode(changed)
