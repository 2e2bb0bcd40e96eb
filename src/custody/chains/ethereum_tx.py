"""Unsigned EIP-1559 transactions, ERC-20 transfer calldata and logs, and the template payload.

Pure byte handling shared by the watcher (which builds templates) and the signer (which parses
them itself). Decoding is strict: every length must be canonical and nothing may trail, so one
transaction has exactly one encoding and the bytes the signer checks are the bytes it signs.
"""

import json
import re
from dataclasses import dataclass, replace

from eth_hash.auto import keccak

from custody.chains.errors import AddressError
from custody.chains.ethereum import to_checksum_address

TX_TYPE = 0x02
MAX_UINT256 = 2**256 - 1
# 8 bytes are plenty for a nonce or a gas limit (EIP-2681 caps the nonce at 2^64 - 1).
MAX_UINT64 = 2**64 - 1

TRANSFER_SELECTOR = keccak(b"transfer(address,uint256)")[:4]
BALANCE_OF_SELECTOR = keccak(b"balanceOf(address)")[:4]
TRANSFER_TOPIC = "0x" + keccak(b"Transfer(address,address,uint256)").hex()

PAYLOAD_FORMAT = "custody-eth1559/v1"
_PATH = re.compile(r"m(/[0-9]{1,10}'?){5}")
_HEX = re.compile(r"0x([0-9a-f]{2})*")


class TxError(ValueError):
    """Bytes that are no canonical unsigned EIP-1559 transaction (or calldata, log, payload)."""


class TxTypeError(TxError):
    """A typed transaction of another type than EIP-1559 (0x02), or a legacy one."""


class AccessListError(TxError):
    """A transaction with a non-empty access list: we never build one, so we never sign one."""


class PayloadError(TxError):
    """A template payload that is not the canonical JSON object around a transaction."""


# RLP ---------------------------------------------------------------------------------------

RlpItem = bytes | list["RlpItem"]


def _length_prefix(length: int, short: int) -> bytes:
    if length < 56:
        return bytes([short + length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([short + 55 + len(body)]) + body


def rlp_encode(item: RlpItem) -> bytes:
    """RLP of a byte string or a (nested) list of them."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    body = b"".join(rlp_encode(i) for i in item)
    return _length_prefix(len(body), 0xC0) + body


def _read_length(data: bytes, pos: int, size: int) -> int:
    raw = data[pos : pos + size]
    if len(raw) != size:
        raise TxError("RLP length runs past the end")
    if raw[0] == 0:
        raise TxError("RLP length has a leading zero byte")
    length = int.from_bytes(raw, "big")
    if length < 56:
        raise TxError("RLP long form used for a short item")
    return length


def _item(data: bytes, pos: int) -> tuple[RlpItem, int]:
    """The item starting at `pos` and the position after it."""
    if pos >= len(data):
        raise TxError("RLP ends before an item")
    head = data[pos]
    if head < 0x80:
        return data[pos : pos + 1], pos + 1
    is_list = head >= 0xC0
    base = 0xC0 if is_list else 0x80
    if head - base < 56:
        start, length = pos + 1, head - base
    else:
        size = head - base - 55
        start, length = pos + 1 + size, _read_length(data, pos + 1, size)
    end = start + length
    if end > len(data):
        raise TxError("RLP item runs past the end")
    if not is_list:
        if length == 1 and data[start] < 0x80:
            raise TxError("RLP single byte below 0x80 must encode itself")
        return data[start:end], end
    items: list[RlpItem] = []
    at = start
    while at < end:
        child, at = _item(data, at)
        items.append(child)
    if at != end:
        raise TxError("RLP list items overrun the list")
    return items, end


def rlp_decode(data: bytes) -> RlpItem:
    """Decode exactly one canonical RLP item; trailing bytes are an error."""
    item, end = _item(data, 0)
    if end != len(data):
        raise TxError(f"{len(data) - end} bytes after the RLP item")
    return item


def encode_int(value: int) -> bytes:
    """A non-negative integer as RLP wants it: big-endian, no leading zeros, 0 is empty."""
    if value < 0:
        raise TxError("RLP integers are non-negative")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_int(raw: RlpItem, name: str, limit: int = MAX_UINT256) -> int:
    """A canonical RLP integer field, at most `limit`."""
    if not isinstance(raw, bytes):
        raise TxError(f"{name} is a list, not an integer")
    if raw[:1] == b"\x00":
        raise TxError(f"{name} has a leading zero byte")
    value = int.from_bytes(raw, "big")
    if value > limit:
        raise TxError(f"{name} is out of range")
    return value


# EIP-1559 transactions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Eip1559Tx:
    """An EIP-1559 transaction without signature; `to` is 20 bytes (None: contract creation)."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes = b""

    def fields(self) -> list[RlpItem]:
        """The nine RLP fields, access list always empty."""
        return [
            encode_int(self.chain_id),
            encode_int(self.nonce),
            encode_int(self.max_priority_fee_per_gas),
            encode_int(self.max_fee_per_gas),
            encode_int(self.gas_limit),
            self.to or b"",
            encode_int(self.value),
            self.data,
            [],
        ]

    def unsigned(self) -> bytes:
        """0x02 || rlp([chain_id, nonce, tip, fee cap, gas, to, value, data, access_list])."""
        return bytes([TX_TYPE]) + rlp_encode(self.fields())

    def signing_hash(self) -> bytes:
        """What the sender signs: keccak256 of the unsigned bytes."""
        return keccak(self.unsigned())

    def signed(self, y_parity: int, r: int, s: int) -> bytes:
        """0x02 || rlp([... the nine fields, y_parity, r, s])."""
        tail: list[RlpItem] = [encode_int(y_parity), encode_int(r), encode_int(s)]
        return bytes([TX_TYPE]) + rlp_encode([*self.fields(), *tail])

    def with_fees(self, max_priority_fee_per_gas: int, max_fee_per_gas: int) -> "Eip1559Tx":
        """The same transaction with other fees (a same-nonce replacement)."""
        return replace(
            self,
            max_priority_fee_per_gas=max_priority_fee_per_gas,
            max_fee_per_gas=max_fee_per_gas,
        )

    @property
    def to_address(self) -> str | None:
        """The recipient in EIP-55 form."""
        return None if self.to is None else checksum(self.to)

    @property
    def max_cost(self) -> int:
        """The most wei the transaction can take from its sender: value plus gas at the cap."""
        return self.value + self.gas_limit * self.max_fee_per_gas


def _fields(raw: bytes, count: int) -> list[RlpItem]:
    if not raw:
        raise TxError("empty transaction")
    if raw[0] >= 0xC0:
        raise TxTypeError("a legacy (untyped) transaction, not EIP-1559")
    if raw[0] != TX_TYPE:
        raise TxTypeError(f"transaction type 0x{raw[0]:02x}, not EIP-1559 (0x02)")
    body = rlp_decode(raw[1:])
    if not isinstance(body, list):
        raise TxError("the transaction body is not an RLP list")
    if len(body) != count:
        raise TxError(f"the transaction has {len(body)} fields, not {count}")
    return body


def _tx_from_fields(body: list[RlpItem]) -> Eip1559Tx:
    to, data, access_list = body[5], body[7], body[8]
    if not isinstance(to, bytes) or len(to) not in (0, 20):
        raise TxError("the recipient is not empty or 20 bytes")
    if not isinstance(data, bytes):
        raise TxError("the data field is a list")
    if not isinstance(access_list, list):
        raise TxError("the access list is not a list")
    if access_list:
        raise AccessListError("the transaction carries an access list")
    return Eip1559Tx(
        chain_id=decode_int(body[0], "chain id", MAX_UINT64),
        nonce=decode_int(body[1], "nonce", MAX_UINT64 - 1),
        max_priority_fee_per_gas=decode_int(body[2], "max priority fee"),
        max_fee_per_gas=decode_int(body[3], "max fee"),
        gas_limit=decode_int(body[4], "gas limit", MAX_UINT64),
        to=to or None,
        value=decode_int(body[6], "value"),
        data=data,
    )


def decode_unsigned(raw: bytes) -> Eip1559Tx:
    """Parse 0x02 || rlp([nine fields]) strictly; the result encodes back to the same bytes."""
    tx = _tx_from_fields(_fields(raw, 9))
    if tx.unsigned() != raw:
        raise TxError("the transaction is not in canonical form")
    return tx


@dataclass(frozen=True)
class SignedTx:
    """A signed EIP-1559 transaction: the fields, the signature and the hash the chain knows."""

    tx: Eip1559Tx
    y_parity: int
    r: int
    s: int
    raw: bytes

    @property
    def txid(self) -> str:
        """keccak256 of the signed bytes, 0x-prefixed."""
        return "0x" + keccak(self.raw).hex()


def decode_signed(raw: bytes) -> SignedTx:
    """Parse a signed EIP-1559 transaction strictly (the watcher reads nonce and sender fields)."""
    body = _fields(raw, 12)
    tx = _tx_from_fields(body[:9])
    y_parity = decode_int(body[9], "y parity", 1)
    r, s = decode_int(body[10], "r"), decode_int(body[11], "s")
    if tx.signed(y_parity, r, s) != raw:
        raise TxError("the signed transaction is not in canonical form")
    return SignedTx(tx=tx, y_parity=y_parity, r=r, s=s, raw=raw)


def txid_of(raw_signed: bytes) -> str:
    """The hash the chain knows a signed transaction by."""
    return "0x" + keccak(raw_signed).hex()


# addresses and hex -------------------------------------------------------------------------


def address_bytes(address: str) -> bytes:
    """The 20 bytes of a 0x-prefixed address (any case; callers validate EIP-55 where it matters)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        raise AddressError("ethereum address must be 0x followed by 40 hex digits")
    return bytes.fromhex(address[2:])


def checksum(raw: bytes) -> str:
    """The EIP-55 address of 20 bytes."""
    if len(raw) != 20:
        raise AddressError(f"an address is 20 bytes, not {len(raw)}")
    return to_checksum_address("0x" + raw.hex())


def from_hex(text: str, what: str) -> bytes:
    """Lower-case 0x-prefixed hex with whole bytes, as templates and the JSON-RPC carry it."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise TxError(f"{what} is not lower-case 0x-prefixed hex")
    return bytes.fromhex(text[2:])


def to_hex(raw: bytes) -> str:
    """0x-prefixed lower-case hex."""
    return "0x" + raw.hex()


# ERC-20 ------------------------------------------------------------------------------------


def _word_address(word: bytes, what: str) -> bytes:
    if len(word) != 32 or any(word[:12]):
        raise TxError(f"{what} is not a 32-byte word holding a 20-byte address")
    return word[12:]


def encode_transfer(to: bytes, amount: int) -> bytes:
    """Calldata of ERC-20 `transfer(to, amount)`."""
    if len(to) != 20 or not 0 <= amount <= MAX_UINT256:
        raise TxError("transfer needs a 20-byte recipient and a uint256 amount")
    return TRANSFER_SELECTOR + bytes(12) + to + amount.to_bytes(32, "big")


def decode_transfer(data: bytes) -> tuple[bytes, int]:
    """(recipient, amount) of `transfer(address,uint256)` calldata; exactly 68 bytes."""
    if data[:4] != TRANSFER_SELECTOR:
        raise TxError("the calldata does not call transfer(address,uint256)")
    if len(data) != 68:
        raise TxError(f"transfer calldata is {len(data)} bytes, not 68")
    return _word_address(data[4:36], "the transfer recipient"), int.from_bytes(data[36:], "big")


def encode_balance_of(owner: bytes) -> bytes:
    """Calldata of ERC-20 `balanceOf(owner)`."""
    if len(owner) != 20:
        raise TxError("balanceOf needs a 20-byte owner")
    return BALANCE_OF_SELECTOR + bytes(12) + owner


def decode_transfer_log(topics: list[str], data: str) -> tuple[bytes, bytes, int]:
    """(from, to, amount) of an ERC-20 Transfer log. ERC-721's Transfer (4 topics) is refused."""
    if len(topics) != 3 or topics[0].lower() != TRANSFER_TOPIC:
        raise TxError("not an ERC-20 Transfer log (three topics, the Transfer signature)")
    sender = _word_address(from_hex(topics[1].lower(), "topic 1"), "the Transfer sender")
    recipient = _word_address(from_hex(topics[2].lower(), "topic 2"), "the Transfer recipient")
    amount = from_hex(data.lower(), "the Transfer data")
    if len(amount) != 32:
        raise TxError("the Transfer data is not one 32-byte amount")
    return sender, recipient, int.from_bytes(amount, "big")


# the template payload ----------------------------------------------------------------------


@dataclass(frozen=True)
class TemplatePayload:
    """What the watcher posts as a template's payload: the unsigned transaction and its sender.

    An Ethereum transaction does not name its sender (the signature implies it), so the
    payload says which of our keys is to sign (`sender`, `path`), like a PSBT's key origins;
    a top-up also names the path of the deposit address it pays. The signer trusts none of it:
    it derives each path itself and compares.
    """

    tx: Eip1559Tx
    sender: str
    path: str
    to_path: str | None = None

    def encode(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same template gives the same payload."""
        body = {
            "format": PAYLOAD_FORMAT,
            "from": self.sender,
            "path": self.path,
            "tx": to_hex(self.tx.unsigned()),
        }
        if self.to_path is not None:
            body["to_path"] = self.to_path
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, payload: str) -> "TemplatePayload":
        """Parse a payload strictly; TxError (or its subclasses) names what is wrong."""
        try:
            body = json.loads(payload)
        except ValueError as e:
            raise PayloadError("the payload is not JSON") from e
        if not isinstance(body, dict) or body.get("format") != PAYLOAD_FORMAT:
            raise PayloadError(f"the payload is not a {PAYLOAD_FORMAT} object")
        if set(body) - {"to_path"} != {"format", "from", "path", "tx"}:
            raise PayloadError("the payload holds format, from, path, tx and optionally to_path")
        paths = [body["path"], body.get("to_path", "m/0/0/0/0/0")]
        if not all(isinstance(p, str) and _PATH.fullmatch(p) for p in paths):
            raise PayloadError("a derivation path in the payload is malformed")
        sender = body["from"]
        try:
            normalized = checksum(address_bytes(sender)) if isinstance(sender, str) else None
        except AddressError as e:
            raise PayloadError(f"the payload's from: {e}") from e
        if normalized != sender:
            raise PayloadError("the payload's from is not an address in EIP-55 form")
        parsed = cls(
            decode_unsigned(from_hex(body["tx"], "the payload's tx")),
            sender,
            body["path"],
            body.get("to_path"),
        )
        if parsed.encode() != payload:
            raise PayloadError("the payload is not in canonical form")
        return parsed
