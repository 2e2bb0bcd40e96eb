"""The peer's primitives against every published vector of nano-notes.md §3.

If the peer only agreed with the project's code, a shared misunderstanding would pass; these
vectors tie it to the docs, other implementations and real mainnet blocks instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testnodes.nano import codec, crypto
from testnodes.nano.block import StateBlock, parse_block

REP = "nano_1stofnrxuz3cai7ze75o174bpm7scwj9jn3nxsn8ntzg784jf1gzn1jjdkou"
ACC = "nano_1e5aqegc1jb7qe964u4adzmcezyo6o146zb8hm6dft8tkp79za3sxwjym5rx"
NANOLIB = Path(__file__).parent / "data" / "nanolib_blocks.json"
LIVE_GENESIS = "xrb_3t6k35gi95xu6tergt6p69ck76ogmitsa8mnijtpxm9fkcm736xtoncuohr3"

KEYS = [
    # (private key, public key, address): feeless crate, docs key_expand, docs first receive
    (
        "9F0E444C69F77A49BD0BE89DB92C38FE713E0963165CCA12FAF5712D7657120F",
        "C008B814A7D269A1FA3C6528B19201A24D797912DB9996FF02A1FF356E45552B",
        "nano_3i1aq1cchnmbn9x5rsbap8b15akfh7wj7pwskuzi7ahz8oq6cobd99d4r3b7",
    ),
    (
        "781186FB9EF17DB6E3D1056550D9FAE5D5BBADA6A6BC370E4CBB938B1DC71DA3",
        "3068BB1CA04525BB0E416C485FE6A67FD52540227D267CC8B6E8DA958A7FA039",
        ACC,
    ),
    (
        "0ED82E6990A16E7AD2375AB5D54BEAABF6C676D09BEC74D9295FCAE35439F694",
        "611C5C60034E6AD9ED9591E62DD1A78B482C2EDF1A02C5E063E5ABE692AED065",
        "nano_1rawdji18mmcu9psd6h87qath4ta7iqfy8i4rqi89sfdwtbcxn57jm9k3q11",
    ),
    (  # the dev genesis (nano/secure/common.cpp), the peer's genesis account
        "34F0A37AAD20F4A260F0A5B3CB3D7FB50673212263E58A380BC10474BB039CE4",
        "B0311EA55708D6A53C75CDBF88300259C6D018522FE3D4D0A242E431F9E8B6D0",
        "xrb_3e3j5tkog48pnny9dmfzj1r16pg8t1e76dz5tmac6iq689wyjfpiij4txtdo",
    ),
]

# The four docs state blocks: (account, previous, representative, balance, link, hash,
# signature, work, work value or None when the notes give none).
STATE_BLOCKS = [
    (
        ACC,
        "92BA74A7D6DC7557F3EDA95ADC6341D51AC777A0A6FF0688A5C492AB2B2CB40D",
        REP,
        11618869000000000000000000000000,
        "CBC911F57B6827649423C92C88C0C56637A4274FF019E77E24D61D12B5338783",
        "350D145570578A36D3D5ADE58DC7465F4CAAF257DD55BD93055FF826057E2CDD",
        "EEFFE1EFCCC8F2F6F2F1B79B80ABE855939DD9D6341323186494ADEE775DAADB"
        "3B6A6A07A85511F2185F6E739C4A54F1454436E22255A542ED879FD04FEED001",
        0xC5CF86DE24B24419,
        0xFFFFFFE8BA95A2BB,
    ),
    (
        "nano_1rawdji18mmcu9psd6h87qath4ta7iqfy8i4rqi89sfdwtbcxn57jm9k3q11",
        "00" * 32,
        REP,
        100,
        "5B2DA492506339C0459867AA1DA1E7EDAAC4344342FAB0848F43B46D248C8E99",
        "ED3BE5340CC9D62964B5A5F84375A06078CBEDC45FB5FA2926985D6E27D803BB",
        "903991714A55954D15C91DB75CAE2FBF1DD1A2D6DA5524AA2870F76B50A8FE8B"
        "4E3FBB53E46B9E82638104AAB3CFA71CFC36B7D676B3D6CAE84725D04E4C360F",
        0x08D09DC3405D9441,
        0xFFFFFFEAF5B0C63C,
    ),
    (
        "nano_1ipx847tk8o46pwxt5qjdbncjqcbwcc1rrmqnkztrfjy5k7z4imsrata9est",
        "CE898C131AAEE25E05362F247760F8A3ACF34A9796A5AE0D9204E86B0637965E",
        REP,
        5606157000000000000000000000000000000,
        "5D1AA8A45F8736519D707FCB375976A7F9AF795091021D7E9C7548D6F45DD8D5",
        "87434F8041869A01C8F6F263B87972D7BA443A72E0A97D7A3FD0CCC2358FD6F9",
        "82D41BC16F313E4B2243D14DFFA2FB04679C540C2095FEE7EAE0F2F26880AD56"
        "DD48D87A7CC5DD760C5B2D76EE2C205506AA557BF00B60D8DEE312EC7343A501",
        0x8A142E07A10996D5,
        None,
    ),
    (
        "nano_1qato4k7z3spc8gq1zyd8xeqfbzsoxwo36a45ozbrxcatut7up8ohyardu1z",
        "6CDDA48608C7843A0AC1122BDD46D9E20E21190986B19EAC23E7F33F2E6A6766",
        "nano_3pczxuorp48td8645bs3m6c3xotxd3idskrenmi65rbrga5zmkemzhwkaznh",
        40200000001000000000000000000000000,
        "87434F8041869A01C8F6F263B87972D7BA443A72E0A97D7A3FD0CCC2358FD6F9",
        "E2FB233EF4554077A7BF1AA85851D5BF0B36965D2B0FB504B2BC778AB89917D3",
        "A5DB164F6B81648F914E49CAB533900C389FAAD64FBB24F6902F9261312B29F7"
        "30D07E9BCCD21D918301419B4E05B181637CF8419ED4DCBF8EF2539EB2467F07",
        0x000BC55B014E807D,
        None,
    ),
]


def _state_block(vector: tuple[Any, ...]) -> StateBlock:
    account, previous, rep, balance, link, _, signature, work, _ = vector
    return StateBlock(
        codec.account_decode(account),
        bytes.fromhex(previous),
        codec.account_decode(rep),
        balance,
        bytes.fromhex(link),
        bytes.fromhex(signature),
        work,
    )


@pytest.mark.parametrize(("private", "public", "address"), KEYS)
def test_key_and_address(private: str, public: str, address: str) -> None:
    key = crypto.public_key(bytes.fromhex(private))
    assert codec.hex_upper(key) == public
    prefix = address.split("_")[0] + "_"
    assert codec.account_encode(key, prefix) == address
    assert codec.account_decode(address) == key


def test_seed_derivation() -> None:
    feeless = crypto.seed_private_key(bytes(32), 0)
    assert codec.hex_upper(feeless) == KEYS[0][0]
    docs = crypto.seed_private_key(bytes.fromhex("00" * 31 + "01"), 1)
    assert (
        codec.hex_upper(docs) == "1495F2D49159CC2EAAAA97EBB42346418E1268AFF16D7FCA90E6BAD6D0965520"
    )


def test_zero_key_address_and_prefixes() -> None:
    zero = "xrb_1111111111111111111111111111111111111111111111111111hifc8npp"
    assert codec.account_encode(bytes(32), "xrb_") == zero
    assert codec.account_decode(zero) == bytes(32)
    assert codec.account_decode("nano_" + zero[4:]) == bytes(32)  # xrb_ and nano_: one account


@pytest.mark.parametrize(
    "bad",
    [
        ACC[:-1] + ("1" if ACC[-1] != "1" else "3"),  # checksum
        ACC.replace("nano_", "nan_"),  # prefix
        ACC[:-2],  # length
        ACC.replace("nano_1", "nano_2"),  # first character must be 1 or 3
        ACC.replace("e", "l", 1),  # 'l' is not in the alphabet
    ],
)
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        codec.account_decode(bad)


@pytest.mark.parametrize("vector", STATE_BLOCKS, ids=["receive", "open", "block_info", "process"])
def test_state_block_hash_and_signature(vector: tuple[Any, ...]) -> None:
    block = _state_block(vector)
    assert codec.hex_upper(block.hash) == vector[5]
    assert crypto.verify(block.account, block.hash, block.signature)
    tampered = bytearray(block.signature)
    tampered[10] ^= 1
    assert not crypto.verify(block.account, block.hash, bytes(tampered))
    assert not crypto.verify(block.account, bytes(32), block.signature)


@pytest.mark.parametrize("vector", STATE_BLOCKS, ids=["receive", "open", "block_info", "process"])
def test_state_block_work(vector: tuple[Any, ...]) -> None:
    block = _state_block(vector)
    value = crypto.work_value(block.work, block.root)
    if vector[8] is not None:
        assert value == vector[8]
    # Old blocks: enough for live epoch_1 and receive, never for the live send threshold.
    assert crypto.LIVE.epoch_1 <= value < crypto.LIVE.epoch_2


def test_open_block_work_is_over_the_account_key() -> None:
    opening = _state_block(STATE_BLOCKS[1])
    assert opening.root == opening.account
    assert crypto.work_value(opening.work, opening.account) == 0xFFFFFFEAF5B0C63C
    # Over the zero previous (nanopy's mistake) the same work is far below any threshold.
    assert crypto.work_value(opening.work, bytes(32)) < crypto.DEV.entry


def test_docs_signature_reproduced_byte_for_byte() -> None:
    block = _state_block(STATE_BLOCKS[0])
    signature = crypto.sign(bytes.fromhex(KEYS[1][0]), block.hash)
    assert codec.hex_upper(signature) == STATE_BLOCKS[0][6]


def test_work_generate_example() -> None:
    root = bytes.fromhex("718CC2121C3E641059BC1C2CFC45666C99E8AE922F7A807B7D07B62C995D79E2")
    assert crypto.work_value(0x2B3D689BBCB21DCA, root) == 0xFFFFFFF93C41EC94


def test_thresholds() -> None:
    assert crypto.DEV.entry == min(crypto.DEV.epoch_1, crypto.DEV.epoch_2_receive)
    assert crypto.LIVE.entry == crypto.LIVE.epoch_2_receive
    root = bytes(range(32))
    work = crypto.work_generate(root, crypto.DEV.epoch_2)
    assert crypto.work_value(work, root) >= crypto.DEV.epoch_2


def _nanolib_state_blocks() -> list[tuple[str, dict[str, Any]]]:
    blocks = json.loads(NANOLIB.read_text())["blocks"]
    return [(name, entry) for name, entry in blocks.items() if entry["data"]["type"] == "state"]


@pytest.mark.parametrize(("name", "entry"), _nanolib_state_blocks())
def test_nanolib_mainnet_state_blocks(name: str, entry: dict[str, Any]) -> None:
    """Real mainnet state blocks (Matoking/nanolib tests/data/blocks.json); legacy types skipped."""
    block = parse_block(entry["data"], json_block=True)
    assert codec.hex_upper(block.hash) == entry["hash"]
    assert codec.account_encode(block.link, "xrb_") == entry["data"]["link_as_account"]
    # Epoch blocks are signed by the epoch signer: the live genesis account.
    signer = codec.account_decode(LIVE_GENESIS) if name == "state_epoch" else block.account
    assert crypto.verify(signer, block.hash, block.signature)
    assert crypto.work_value(block.work, block.root) >= crypto.LIVE.epoch_1
    if name == "state_open":
        assert block.root == block.account


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=64))
def test_sign_verify_roundtrip(seed: bytes, message: bytes) -> None:
    signature = crypto.sign(seed, message)
    public = crypto.public_key(seed)
    assert crypto.verify(public, message, signature)
    assert not crypto.verify(public, message + b"x", signature)


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=64))
def test_same_signatures_as_the_signer_backend(seed: bytes, message: bytes) -> None:
    """Cross-check against ed25519_blake2b, used only here: the peer itself never imports it."""
    backend = pytest.importorskip("ed25519_blake2b")
    signing_key = backend.SigningKey(seed)
    assert crypto.public_key(seed) == signing_key.get_verifying_key().to_bytes()
    assert crypto.sign(seed, message) == signing_key.sign(message)


def test_non_canonical_s_is_refused() -> None:
    block = _state_block(STATE_BLOCKS[0])
    s = int.from_bytes(block.signature[32:], "little") + crypto.GROUP_ORDER
    malleated = block.signature[:32] + s.to_bytes(32, "little")
    assert not crypto.verify(block.account, block.hash, malleated)
