"""Unsigned EIP-1559 encoding against eth-account, strict decoding, ERC-20 calldata and logs."""

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from hypothesis import given
from hypothesis import strategies as st

from custody.chains.ethereum_tx import (
    TRANSFER_TOPIC,
    AccessListError,
    Eip1559Tx,
    PayloadError,
    TemplatePayload,
    TxError,
    TxTypeError,
    decode_signed,
    decode_transfer,
    decode_transfer_log,
    decode_unsigned,
    encode_transfer,
    rlp_decode,
    rlp_encode,
)

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _theirs(tx: Eip1559Tx) -> dict[str, object]:
    return {"type": 2, "chainId": tx.chain_id, "nonce": tx.nonce, "to": tx.to_address,
            "value": tx.value, "gas": tx.gas_limit, "maxFeePerGas": tx.max_fee_per_gas,
            "maxPriorityFeePerGas": tx.max_priority_fee_per_gas, "data": tx.data,
            "accessList": []}


uints = st.integers(min_value=0, max_value=2**256 - 1)


@given(nonce=st.integers(0, 2**64 - 2), value=uints, tip=uints, fee=uints,
       gas=st.integers(21_000, 2**63), data=st.binary(max_size=200))
def test_unsigned_bytes_and_hash_match_eth_account(
    nonce: int, value: int, tip: int, fee: int, gas: int, data: bytes
) -> None:
    tx = Eip1559Tx(31337, nonce, tip, fee, gas, bytes.fromhex(ALICE[2:]), value, data)
    theirs = TypedTransaction.from_dict(_theirs(tx))
    assert tx.signing_hash() == theirs.hash()
    assert decode_unsigned(tx.unsigned()) == tx


def test_signed_bytes_match_eth_account() -> None:
    tx = Eip1559Tx(1, 5, 10**9, 3 * 10**10, 21_000, bytes.fromhex(ALICE[2:]), 10**18)
    theirs = Account.sign_transaction(_theirs(tx), KEY)
    parsed = decode_signed(bytes(theirs.raw_transaction))
    assert parsed.tx == tx and parsed.txid == "0x" + theirs.hash.hex()
    assert tx.signed(parsed.y_parity, parsed.r, parsed.s) == bytes(theirs.raw_transaction)


def test_rlp_vectors_and_strictness() -> None:
    assert rlp_encode(b"dog") == b"\x83dog"
    assert rlp_encode([b"cat", b"dog"]) == b"\xc8\x83cat\x83dog"
    assert rlp_encode(b"") == b"\x80" and rlp_encode([]) == b"\xc0"
    assert rlp_encode(b"\x0f") == b"\x0f"
    assert rlp_encode(b"a" * 56)[:2] == b"\xb8\x38"
    for bad in (b"\x81\x05", b"\xb8\x05abcde", b"\x83do", b"\x83dogs", b"\xc2\x83dog"):
        with pytest.raises(TxError):
            rlp_decode(bad)


def test_decoding_refuses_what_we_never_build() -> None:
    tx = Eip1559Tx(31337, 0, 1, 2, 21_000, bytes.fromhex(ALICE[2:]), 1)
    raw = tx.unsigned()
    with pytest.raises(TxTypeError):
        decode_unsigned(b"\x01" + raw[1:])
    with pytest.raises(TxTypeError):
        decode_unsigned(raw[1:])  # legacy: an RLP list, no type byte
    with pytest.raises(TxError):
        decode_unsigned(raw + b"\x00")
    fields = tx.fields()
    fields[1] = b"\x00\x01"  # a nonce with a leading zero
    with pytest.raises(TxError, match="leading zero"):
        decode_unsigned(b"\x02" + rlp_encode(fields))
    fields = tx.fields()
    fields[8] = [[bytes(20), []]]
    with pytest.raises(AccessListError):
        decode_unsigned(b"\x02" + rlp_encode(fields))
    fields = tx.fields()
    fields[5] = bytes(19)
    with pytest.raises(TxError, match="recipient"):
        decode_unsigned(b"\x02" + rlp_encode(fields))


def test_erc20_calldata_and_logs_match_eth_abi() -> None:
    to = bytes.fromhex(ALICE[2:])
    data = encode_transfer(to, 12345)
    assert data == bytes.fromhex("a9059cbb") + abi_encode(["address", "uint256"], [ALICE, 12345])
    assert decode_transfer(data) == (to, 12345)
    with pytest.raises(TxError):
        decode_transfer(data + b"\x00")
    with pytest.raises(TxError):
        decode_transfer(data[:4] + b"\x01" + data[5:])  # dirty address padding
    assert TRANSFER_TOPIC == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    topics = [TRANSFER_TOPIC, "0x" + "00" * 12 + "11" * 20, "0x" + "00" * 12 + ALICE[2:].lower()]
    amount = "0x" + (77).to_bytes(32, "big").hex()
    assert decode_transfer_log(topics, amount) == (b"\x11" * 20, to, 77)
    with pytest.raises(TxError):  # ERC-721 Transfer: the token id is a fourth topic
        decode_transfer_log([*topics, "0x" + "00" * 32], "0x")


def test_payload_is_canonical() -> None:
    tx = Eip1559Tx(31337, 0, 1, 2, 21_000, bytes.fromhex(ALICE[2:]), 1)
    body = TemplatePayload(tx, ALICE, "m/44'/60'/0'/2/0").encode()
    assert TemplatePayload.parse(body).tx == tx
    for bad in (body.replace(":", ": ", 1), body.replace(ALICE, ALICE.lower()),
                body.replace('"path"', '"extra":1,"path"'), "[]",
                body.replace("m/44'/60'/0'/2/0", "m/44'/60'")):
        with pytest.raises(PayloadError):
            TemplatePayload.parse(bad)
