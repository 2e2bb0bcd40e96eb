"""Bitcoin and Litecoin networks and addresses: published vectors, wrong networks, properties."""

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from embit.script import Script
from embit.util.py_ripemd160 import ripemd160 as pure_python_ripemd160
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import base58, bitcoin
from custody.chains.bitcoin import NETWORKS, BitcoinNetwork
from custody.chains.errors import AddressError, UnknownNetworkError

KEY_IO: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "bitcoin_key_io.json").read_text()
)
SUPPORTED_SCRIPT_HEADS = ("76a914", "a914", "0014", "0020", "5120")

# BIP84 test vectors: m/84'/0'/0'/0/0, m/84'/0'/0'/0/1 and m/84'/0'/0'/1/0 of the BIP's mnemonic.
BIP84 = [
    (
        "0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    ),
    (
        "03e775fd51f0dfb8cd865d9ff1cca2a158cf651fe997fdc9fee9c1d3b5e995ea77",
        "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
    ),
    (
        "03025324888e429ab8e3dbaf1f7802648b9cd01e9b418485c5fa4c1b9b5700e1a6",
        "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el",
    ),
]
BIP84_PUBKEY = bytes.fromhex(BIP84[0][0])
# The first BIP84 key on every network; cross-checked with embit (hrp swapped in its dict).
BIP84_FIRST_ADDRESS = {
    "btc-main": "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    "btc-test": "tb1qcr8te4kr609gcawutmrza0j4xv80jy8zmfp6l0",
    "btc-regtest": "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx",
    "ltc-main": "ltc1qcr8te4kr609gcawutmrza0j4xv80jy8z4nqduv",
    "ltc-test": "tltc1qcr8te4kr609gcawutmrza0j4xv80jy8zzpry0x",
    "ltc-regtest": "rltc1qcr8te4kr609gcawutmrza0j4xv80jy8z8dz7lc",
}

# Published RIPEMD-160 test vectors (Dobbertin, Bosselaers, Preneel).
RIPEMD160 = [
    (b"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"),
    (b"a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"),
    (b"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"),
    (b"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
    (b"abcdefghijklmnopqrstuvwxyz", "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "12a053384a9c0c88e405a06c27dcf49ada62eb2b",
    ),
    (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "b0e20b6e3116640286ed3a87a5713079b21f5189",
    ),
    (b"1234567890" * 8, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"),
    (b"a" * 1_000_000, "52783243c1697bdbe16d37f97f68f08325dc1528"),
]


def embit_network(net: BitcoinNetwork) -> dict[str, object]:
    """An embit network dict for `net`, to check our encoder against an independent one."""
    return {
        "p2pkh": bytes([net.p2pkh_prefix]),
        "p2sh": bytes([net.p2sh_prefix]),
        "bech32": net.bech32_hrp,
    }


# -- networks ----------------------------------------------------------------------------------


def test_network_names_and_parameters() -> None:
    table = {
        name: (n.bech32_hrp, n.p2pkh_prefix, n.p2sh_prefixes, n.bip32_coin_type)
        for name, n in NETWORKS.items()
    }
    assert table == {
        "btc-main": ("bc", 0x00, (0x05,), 0),
        "btc-test": ("tb", 0x6F, (0xC4,), 1),
        "btc-regtest": ("bcrt", 0x6F, (0xC4,), 1),
        "ltc-main": ("ltc", 0x30, (0x32, 0x05), 2),
        "ltc-test": ("tltc", 0x6F, (0x3A, 0xC4), 1),
        "ltc-regtest": ("rltc", 0x6F, (0x3A, 0xC4), 1),
    }
    assert all(bitcoin.network(name).name == name for name in NETWORKS)
    assert {n.coin for n in NETWORKS.values()} == {"BTC", "LTC"}


def test_unknown_network_is_named_in_the_error() -> None:
    with pytest.raises(UnknownNetworkError, match="unknown bitcoin-family network 'doge-main'"):
        bitcoin.network("doge-main")
    with pytest.raises(AddressError, match="btc-mainnet"):
        bitcoin.validate_address("btc-mainnet", BIP84[0][1])


# -- hashes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "digest"), RIPEMD160, ids=lambda v: str(v)[:12])
def test_ripemd160_fallback_matches_published_vectors(message: bytes, digest: str) -> None:
    # embit uses this pure-Python RIPEMD-160 where OpenSSL 3 has dropped it from hashlib.
    assert pure_python_ripemd160(message).hex() == digest


def test_hash160_is_ripemd160_of_sha256() -> None:
    sha = hashlib.sha256(b"abc").digest()
    assert bitcoin.hash160(b"abc") == pure_python_ripemd160(sha)


# -- P2WPKH from public keys -------------------------------------------------------------------


@pytest.mark.parametrize(("pubkey", "address"), BIP84)
def test_bip84_vectors(pubkey: str, address: str) -> None:
    assert bitcoin.p2wpkh_address(NETWORKS["btc-main"], bytes.fromhex(pubkey)) == address


@pytest.mark.parametrize(("name", "address"), BIP84_FIRST_ADDRESS.items())
def test_bip84_key_on_every_network(name: str, address: str) -> None:
    net = NETWORKS[name]
    assert bitcoin.p2wpkh_address(net, BIP84_PUBKEY) == address
    assert bitcoin.validate_address(name, address) == address


def test_litecoin_address_with_bitcoin_regtest_checksum_is_rejected() -> None:
    # "ltc1q...eqchgx" carries the checksum of bcrt1q...eqchgx: one hrp swapped, one caught.
    with pytest.raises(AddressError, match="checksum mismatch"):
        bitcoin.validate_address("ltc-main", "ltc1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx")


@pytest.mark.parametrize(
    ("pubkey", "error"),
    [
        (BIP84_PUBKEY[1:], "33-byte compressed"),
        (b"\x04" + BIP84_PUBKEY[1:], "33-byte compressed"),
        (b"\x02" + bytes(32), "not a point on secp256k1"),
    ],
)
def test_p2wpkh_refuses_bad_public_keys(pubkey: bytes, error: str) -> None:
    with pytest.raises(AddressError, match=error):
        bitcoin.p2wpkh_address(NETWORKS["btc-main"], pubkey)


# -- published address vectors -----------------------------------------------------------------


def supported(vector: dict[str, str]) -> bool:
    return vector["script_pubkey"].startswith(SUPPORTED_SCRIPT_HEADS) and len(
        vector["script_pubkey"]
    ) in (44, 46, 50, 68)


VALID = [v for v in KEY_IO["bitcoin_valid"] + KEY_IO["litecoin_valid"] if supported(v)]
OTHER_WITNESS = [v for v in KEY_IO["bitcoin_valid"] if not supported(v)]


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["address"][:14])
def test_valid_addresses_map_to_their_script(vector: dict[str, str]) -> None:
    net = NETWORKS[vector["network"]]
    address, script = vector["address"], bytes.fromhex(vector["script_pubkey"])
    assert bitcoin.script_pubkey(net, address) == script
    assert bitcoin.validate_address(net.name, address) == address
    assert bitcoin.address_from_script(net, script) == address
    if address.lower() == address and "1" in address[:5]:
        # Bech32 is case-insensitive: upper case is accepted and normalized back.
        assert bitcoin.validate_address(net.name, address.upper()) == address


@pytest.mark.parametrize("vector", OTHER_WITNESS, ids=lambda v: v["address"][:14])
def test_other_witness_versions_are_valid_but_not_payable(vector: dict[str, str]) -> None:
    net = NETWORKS[vector["network"]]
    with pytest.raises(AddressError, match="not a supported output kind"):
        bitcoin.script_pubkey(net, vector["address"])
    assert bitcoin.address_from_script(net, bytes.fromhex(vector["script_pubkey"])) is None


@pytest.mark.parametrize("address", KEY_IO["bitcoin_invalid"])
@pytest.mark.parametrize("name", NETWORKS)
def test_invalid_addresses_fail_on_every_network(name: str, address: str) -> None:
    with pytest.raises(AddressError):
        bitcoin.validate_address(name, address)


# -- wrong network -----------------------------------------------------------------------------


def shares_base58_prefix(a: BitcoinNetwork, b: BitcoinNetwork, address: str) -> bool:
    version = base58.b58check_decode(address)[0]
    return version in (b.p2pkh_prefix, *b.p2sh_prefixes)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["address"][:14])
def test_addresses_are_refused_on_other_networks(vector: dict[str, str]) -> None:
    own = NETWORKS[vector["network"]]
    is_bech32 = vector["script_pubkey"].startswith(("00", "51"))
    for other in NETWORKS.values():
        if other is own:
            continue
        if not is_bech32 and shares_base58_prefix(own, other, vector["address"]):
            # Test and regtest of both coins share base58 prefixes; nothing can tell them apart.
            continue
        with pytest.raises(
            AddressError, match=f"another network .*{own.name}.*expected {other.name}"
        ):
            bitcoin.script_pubkey(other, vector["address"])


@pytest.mark.parametrize(
    ("name", "address", "owner"),
    [
        ("ltc-main", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "(btc-main)"),
        ("btc-main", "ltc1qcr8te4kr609gcawutmrza0j4xv80jy8z4nqduv", "(ltc-main)"),
        ("btc-regtest", "tb1qcr8te4kr609gcawutmrza0j4xv80jy8zmfp6l0", "(btc-test)"),
        ("ltc-regtest", "tltc1qcr8te4kr609gcawutmrza0j4xv80jy8zzpry0x", "(ltc-test)"),
        ("btc-main", "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", "(ltc-main)"),
        ("btc-main", "MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2", "(ltc-main)"),
        ("ltc-main", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "(btc-main)"),
        ("btc-main", "QXaUgLHkZcbJb2j5XgMYzY8cF9YM48Y81Z", "(ltc-test, ltc-regtest)"),
        ("ltc-main", "mwXn5Vhicdav8Av3KMokx4YNuHoGRKxtWs", "(btc-test, btc-regtest, ltc-test,"),
    ],
)
def test_wrong_network_error_names_the_owner(name: str, address: str, owner: str) -> None:
    expected = re.escape(f"address belongs to another network {owner}")
    with pytest.raises(AddressError, match=expected):
        bitcoin.validate_address(name, address)


def test_litecoin_accepts_legacy_p2sh_and_encodes_the_new_prefix() -> None:
    legacy = "3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf"  # Bitcoin Core vector, version 0x05
    net = NETWORKS["ltc-main"]
    script = bitcoin.script_pubkey(net, legacy)
    assert bitcoin.validate_address("ltc-main", legacy) == legacy
    assert bitcoin.address_from_script(net, script) == base58.b58check_encode(
        bytes([0x32]) + script[2:22]
    )


def test_unknown_hrp_and_unknown_version_are_named() -> None:
    btc = NETWORKS["btc-main"]
    with pytest.raises(AddressError, match="unknown bech32 human-readable part 'tc'"):
        bitcoin.script_pubkey(btc, "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty")
    unknown_version = base58.b58check_encode(bytes([0x99]) + bytes(20))
    with pytest.raises(AddressError, match="unknown base58 address version 0x99"):
        bitcoin.script_pubkey(btc, unknown_version)
    with pytest.raises(AddressError, match="payload is 22 bytes"):
        bitcoin.script_pubkey(btc, base58.b58check_encode(bytes(22)))


def test_bech32_reason_is_kept_for_broken_bech32_addresses() -> None:
    with pytest.raises(AddressError, match="mixed case"):
        bitcoin.validate_address("btc-main", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyU")
    with pytest.raises(AddressError, match="bech32 checksum mismatch"):
        bitcoin.validate_address("btc-main", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv")


def test_base58_address_that_starts_like_bech32_is_read_as_base58() -> None:
    # A (vanity) Litecoin address can begin "LTC1": it must not be mistaken for bech32.
    top = base58.b58decode("LTC1" + "z" * 30)[:21]
    address = base58.b58check_encode(top)
    assert address.startswith("LTC1") and top[0] == 0x30
    assert bitcoin.validate_address("ltc-main", address) == address
    with pytest.raises(AddressError, match=r"another network \(ltc-main\)"):
        bitcoin.validate_address("btc-main", address)


def test_overlong_input_is_refused_before_decoding() -> None:
    with pytest.raises(AddressError, match="longer than any address"):
        bitcoin.validate_address("btc-main", "1" * 10_000)


def test_address_from_script_returns_none_for_other_scripts() -> None:
    btc = NETWORKS["btc-main"]
    for script in [
        "",
        "6a0568656c6c6f",
        "0015" + "00" * 21,
        "5121" + "00" * 33,
        "76a914" + "00" * 20,
    ]:
        assert bitcoin.address_from_script(btc, bytes.fromhex(script)) is None


# -- properties --------------------------------------------------------------------------------

networks = st.sampled_from(list(NETWORKS.values()))


@st.composite
def scripts(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"]))
    size = 20 if kind in ("p2pkh", "p2sh", "p2wpkh") else 32
    digest = draw(st.binary(min_size=size, max_size=size))
    head, tail = {
        "p2pkh": (b"\x76\xa9\x14", b"\x88\xac"),
        "p2sh": (b"\xa9\x14", b"\x87"),
        "p2wpkh": (b"\x00\x14", b""),
        "p2wsh": (b"\x00\x20", b""),
        "p2tr": (b"\x51\x20", b""),
    }[kind]
    return head + digest + tail


@given(networks, scripts())
def test_script_address_round_trip_agrees_with_embit(net: BitcoinNetwork, script: bytes) -> None:
    address = bitcoin.address_from_script(net, script)
    assert address is not None
    assert address == Script(script).address(embit_network(net))
    assert bitcoin.script_pubkey(net, address) == script
    assert bitcoin.validate_address(net.name, address) == address
