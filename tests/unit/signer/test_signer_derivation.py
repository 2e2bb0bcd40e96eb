"""Derivation: BIP84's published test vectors, paths, and agreement with an independent library."""

import pytest
from bip_utils import Bip39SeedGenerator
from embit import bip32, bip39
from hypothesis import given
from hypothesis import strategies as st

from custody.chains import base58
from custody.chains.bitcoin import network, p2wpkh_address
from custody.signer.derivation import HARDENED, Account, Branch, KeyRing, format_path, parse_path
from tests.support.signer_templates import MNEMONIC

# https://github.com/bitcoin/bips/blob/master/bip-0084.mediawiki#test-vectors
ROOT_ZPUB = (
    "zpub6jftahH18ngZxLmXaKw3GSZzZsszmt9WqedkyZdezFtWRFBZqsQH5hyUmb4pCEeZGmVfQuP5bedXTB8is6fTv19U"
    "1GQRyQUKQGUTzyHACMF"
)
ACCOUNT_ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31m"
    "GDtKsAYz2oz2AGutZYs"
)
VECTORS = [
    # path, WIF private key, public key, address
    ("m/84'/0'/0'/0/0", "KyZpNDKnfs94vbrwhJneDi77V6jF64PWPF8x5cdJb8ifgg2DUc9d",
     "0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c",
     "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"),
    ("m/84'/0'/0'/0/1", "Kxpf5b8p3qX56DKEe5NqWbNUP9MnqoRFzZwHRtsFqhzuvUJsYZCy",
     "03e775fd51f0dfb8cd865d9ff1cca2a158cf651fe997fdc9fee9c1d3b5e995ea77",
     "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"),
    ("m/84'/0'/0'/1/0", "KxuoxufJL5csa1Wieb2kp29VNdn92Us8CoaUG3aGtPtcF3AzeXvF",
     "03025324888e429ab8e3dbaf1f7802648b9cd01e9b418485c5fa4c1b9b5700e1a6",
     "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"),
]


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing(bytes(Bip39SeedGenerator(MNEMONIC).Generate()))


def _key_of(extended: str) -> bytes:
    """The 33-byte key at the end of a (SLIP-132) extended public key."""
    return base58.b58check_decode(extended)[-33:]


def test_master_and_account_keys_match_bip84(ring: KeyRing) -> None:
    assert ring.fingerprint.hex() == "73c5da0a"
    assert ring.derive(()).public_key == _key_of(ROOT_ZPUB)
    assert ring.derive(parse_path("m/84'/0'/0'")).public_key == _key_of(ACCOUNT_ZPUB)


@pytest.mark.parametrize(("at", "wif", "pub", "address"), VECTORS)
def test_address_keys_match_bip84(ring: KeyRing, at: str, wif: str, pub: str, address: str) -> None:
    key = ring.derive(parse_path(at))
    assert key.path_text == at
    assert key.public_key.hex() == pub
    assert base58.b58check_encode(b"\x80" + key.secret + b"\x01") == wif
    assert p2wpkh_address(network("btc-main"), key.public_key) == address


def test_private_key_stays_out_of_repr(ring: KeyRing) -> None:
    key = ring.derive(parse_path("m/84'/0'/0'/0/0"))
    assert key.secret.hex() not in repr(key)
    assert "73c5da0a" in repr(ring)


@pytest.mark.parametrize(
    ("net", "coin"),
    [("btc-main", 0), ("btc-test", 1), ("btc-regtest", 1),
     ("ltc-main", 2), ("ltc-test", 1), ("ltc-regtest", 1)],
)
def test_coin_type_per_network(net: str, coin: int) -> None:
    assert network(net).bip32_coin_type == coin
    account = Account(84, network(net).bip32_coin_type)
    assert format_path(account.path(Branch.CHANGE, 7)) == f"m/84'/{coin}'/0'/1/7"


embit_root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC))


@given(
    coin=st.sampled_from([0, 1, 2]),
    branch=st.sampled_from(list(Branch)),
    index=st.integers(min_value=0, max_value=HARDENED - 1),
)
def test_keys_agree_with_embit(ring: KeyRing, coin: int, branch: Branch, index: int) -> None:
    at = Account(84, coin).path(branch, index)
    ours = ring.derive(at)
    theirs = embit_root.derive(format_path(at))
    assert ours.public_key == theirs.key.get_public_key().sec()
    assert ours.secret == theirs.key.secret


@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=8))
def test_path_text_round_trips(path: list[int]) -> None:
    assert parse_path(format_path(path)) == tuple(path)


@pytest.mark.parametrize("text", ["84'/0'", "m/x", "m/2147483648", "m/-1", "m//1", "n/0"])
def test_malformed_paths_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_path(text)


@pytest.mark.parametrize(
    "text",
    ["m/84'/1'/0'/2/0", "m/84'/1'/0'/0", "m/84'/1'/1'/0/0", "m/84'/0'/0'/0/0",
     "m/44'/1'/0'/0/0", "m/84'/1'/0'/0/0/0", "m/84'/1'/0'/0/5'", "m/84/1'/0'/0/0"],
)
def test_paths_outside_the_account_are_not_located(text: str) -> None:
    with pytest.raises(ValueError):
        Account(84, 1).locate(parse_path(text))


def test_located_paths(ring: KeyRing) -> None:
    assert Account(84, 1).locate(parse_path("m/84'/1'/0'/1/9")) == (Branch.CHANGE, 9)
    assert Account(84, 1).locate(parse_path("m/84h/1h/0h/0/0")) == (Branch.RECEIVE, 0)
