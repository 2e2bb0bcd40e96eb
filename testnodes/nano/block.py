"""State blocks: the peer's value type, its JSON parsing ("Block is invalid") and the node's JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from testnodes.nano import codec, crypto
from testnodes.nano.errors import BLOCK_INVALID, RpcError


@dataclass(frozen=True)
class StateBlock:
    """A state block; all keys and hashes are 32 raw bytes, balance in raw, work a uint64."""

    account: bytes
    previous: bytes
    representative: bytes
    balance: int
    link: bytes
    signature: bytes = bytes(64)
    work: int = 0
    hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: the block is frozen, and the ledger asks for the hash often.
        digest = crypto.state_hash(
            self.account, self.previous, self.representative, self.balance, self.link
        )
        object.__setattr__(self, "hash", digest)

    @property
    def root(self) -> bytes:
        """The work root: previous, or the account key for an open block."""
        return crypto.work_root(self.account, self.previous)

    @property
    def is_open(self) -> bool:
        return self.previous == codec.ZERO32

    def signed(self, private_key: bytes) -> StateBlock:
        """The same block signed with `private_key` (the hash does not change)."""
        return replace(self, signature=crypto.sign(private_key, self.hash))

    def worked(self, threshold: int) -> StateBlock:
        """The same block with work reaching `threshold` over its root."""
        return replace(self, work=crypto.work_generate(self.root, threshold))

    def to_json(self) -> dict[str, str]:
        """The node's serialize_json of a state block, field order included."""
        return {
            "type": "state",
            "account": codec.account_encode(self.account),
            "previous": codec.hex_upper(self.previous),
            "representative": codec.account_encode(self.representative),
            "balance": str(self.balance),
            "link": codec.hex_upper(self.link),
            "link_as_account": codec.account_encode(self.link),
            "signature": codec.hex_upper(self.signature),
            "work": codec.work_hex(self.work),
        }

    def to_json_text(self) -> str:
        """The string form (json_block false): boost's write_json, 4-space indent, final newline."""
        return json.dumps(self.to_json(), indent=4) + "\n"


def parse_block(value: object, json_block: bool) -> StateBlock:
    """The `block` argument of `process`: an object when json_block, else JSON text.

    Anything else, or a field that does not decode, is "Block is invalid", as in the node's
    block_impl + deserialize_block_json. Only state blocks exist in this peer.
    """
    if json_block:
        tree = value
    elif isinstance(value, str):
        try:
            tree = json.loads(value)
        except ValueError as e:
            raise RpcError(BLOCK_INVALID) from e
    else:
        raise RpcError(BLOCK_INVALID)
    if not isinstance(tree, dict) or tree.get("type") != "state":
        raise RpcError(BLOCK_INVALID)
    try:
        return _parse_state(tree)
    except (KeyError, TypeError, ValueError) as e:
        raise RpcError(BLOCK_INVALID) from e


def _parse_state(tree: dict[str, Any]) -> StateBlock:
    return StateBlock(
        account=codec.account_decode(_text(tree, "account")),
        previous=codec.hex_decode(_text(tree, "previous"), 32),
        representative=codec.account_decode(_text(tree, "representative")),
        balance=codec.decimal_decode(_text(tree, "balance")),
        link=_parse_link(_text(tree, "link")),
        signature=codec.hex_decode(_text(tree, "signature"), 64),
        work=int.from_bytes(codec.hex_decode(_text(tree, "work"), 8), "big"),
    )


def _parse_link(text: str) -> bytes:
    # The node tries an address first, then hex (state_hashables' ptree constructor).
    try:
        return codec.account_decode(text)
    except ValueError:
        return codec.hex_decode(text, 32)


def _text(tree: dict[str, Any], name: str) -> str:
    value = tree[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value
