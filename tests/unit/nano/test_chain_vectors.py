"""custody.chains.nano and the signer's Nano keys against the published vectors (nano.json).

The vectors come from the Nano docs, the feeless crate, nanolib's mainnet blocks and the docs'
BIP39 vector; tests/vectors/nano.json names each source.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from bip_utils import Bip39SeedGenerator

from custody.chains import nano
from custody.signer.chains import nano_ed25519
from custody.signer.derivation import KeyRing, parse_path

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "nano.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS["seed_keys"], ids=lambda v: f"index {v['index']}")
def test_native_seed_keys(vector: dict[str, Any]) -> None:
    # Nano's own wallet derivation (not the project's): blake2b(seed || index), then Ed25519.
    seed = bytes.fromhex(vector["seed"])
    private = hashlib.blake2b(seed + vector["index"].to_bytes(4, "big"), digest_size=32).digest()
    assert private.hex().upper() == vector["private"]
    if "public" in vector:
        public = nano_ed25519.public_key(private)
        assert public.hex().upper() == vector["public"]
        assert nano.encode_account(public) == vector["address"]


@pytest.mark.parametrize("vector", VECTORS["keys"], ids=lambda v: v["address"][:12])
def test_keys_and_addresses(vector: dict[str, Any]) -> None:
    public = bytes.fromhex(vector["public"])
    if vector["private"] is not None:
        assert nano_ed25519.public_key(bytes.fromhex(vector["private"])) == public
    prefix, body = vector["address"].split("_")
    assert nano.encode_account(public, prefix + "_") == vector["address"]
    assert nano.decode_account(vector["address"]) == public
    # xrb_ and nano_ are the same account; validation answers the nano_ form.
    other = ("xrb_" if prefix == "nano" else "nano_") + body
    assert nano.decode_account(other) == public
    assert nano.validate_address("nano-live", other) == "nano_" + body


def test_bip39_vector_reproduces_with_slip10() -> None:
    vector = VECTORS["bip39"]
    seed = bytes(Bip39SeedGenerator(vector["mnemonic"]).Generate(vector["passphrase"]))
    private, public = KeyRing(seed).derive_ed25519_blake2b(parse_path(vector["path"]))
    assert private.hex() == vector["private"]
    assert public.hex() == vector["public"]
    assert nano_ed25519.public_key(private) == public
    assert nano.encode_account(public) == vector["address"]


@pytest.mark.parametrize("vector", VECTORS["state_blocks"], ids=lambda v: v["name"])
def test_state_blocks(vector: dict[str, Any]) -> None:
    block = nano.block_from_json(vector["block"], signed=True)
    assert block.hash_hex == vector["hash"]
    assert block.signature is not None and block.work is not None
    assert nano_ed25519.verify(block.account, block.hash, block.signature)
    tampered = bytes([block.signature[0] ^ 1]) + block.signature[1:]
    assert not nano_ed25519.verify(block.account, block.hash, tampered)
    if vector["work_value"] is not None:
        assert nano.work_hex(nano.work_value(block.work, block.root)) == vector["work_value"]
    if vector["deterministic"]:
        key = nano_ed25519.NanoKey(bytes.fromhex(vector["private"]))
        assert key.sign(block.hash) == block.signature
    assert block.to_json() == vector["block"]
    assert nano.block_from_bytes(block.to_bytes()) == block


def test_open_block_work_is_over_the_account_key() -> None:
    block = nano.block_from_json(VECTORS["state_blocks"][1]["block"], signed=True)
    assert block.is_open and block.root == block.account
    assert block.work is not None
    assert nano.work_value(block.work, block.account) >= nano.network("nano-live").thresholds.entry
    # Over previous (zero), as nanopy wrongly computes it, the same work is worthless.
    assert nano.work_value(block.work, nano.ZERO) < nano.network("nano-dev").thresholds.entry


@pytest.mark.parametrize("vector", VECTORS["work"], ids=lambda v: v["work"])
def test_work_example(vector: dict[str, str]) -> None:
    value = nano.work_value(int(vector["work"], 16), bytes.fromhex(vector["root"]))
    assert nano.work_hex(value) == vector["value"]
    assert value >= nano.network("nano-live").thresholds.send


@pytest.mark.parametrize("name", sorted(VECTORS["nanolib_state_blocks"]))
def test_nanolib_mainnet_state_blocks(name: str) -> None:
    entry = VECTORS["nanolib_state_blocks"][name]
    data = dict(entry["data"])
    # nanolib's copies carry lower-case signatures here and there; the project's form is upper.
    data["signature"] = data["signature"].upper()
    block = nano.block_from_json(data, signed=True)
    assert block.hash_hex == entry["hash"]
    assert block.signature is not None and block.work is not None
    if name != "state_epoch":  # an epoch block is signed by the epoch signer, not the account
        assert nano_ed25519.verify(block.account, block.hash, block.signature)
    # Old (pre-epoch-2) blocks: their work passes epoch_1 over the right root.
    assert nano.work_value(block.work, block.root) >= nano.network("nano-live").thresholds.epoch_1


def test_subtypes_of_the_nanolib_blocks() -> None:
    blocks = VECTORS["nanolib_state_blocks"]
    opened = nano.block_from_json(_upper(blocks["state_open"]["data"]), signed=True)
    assert nano.subtype_of(opened, None) == nano.OPEN
    epoch = nano.block_from_json(_upper(blocks["state_epoch"]["data"]), signed=True)
    assert nano.subtype_of(epoch, epoch.balance) == nano.EPOCH
    change = nano.block_from_json(_upper(blocks["state_change"]["data"]), signed=True)
    assert nano.subtype_of(change, change.balance) == nano.CHANGE


def _upper(data: dict[str, str]) -> dict[str, str]:
    return {**data, "signature": data["signature"].upper()}
