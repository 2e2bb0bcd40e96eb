"""An RPC client for the peer's HTTP tests, doing what a watcher does, with the peer's signer."""

from __future__ import annotations

from typing import Any

import httpx

from testnodes.nano import codec
from testnodes.nano.block import StateBlock
from testnodes.nano.codec import ZERO32
from testnodes.nano.tests.helpers import MAX_WORK, pub


class Rpc:
    """A tiny JSON-RPC client for the peer over a real socket."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10.0)

    def __call__(self, action: str, **params: Any) -> dict[str, Any]:
        response = self.client.post("/", json={"action": action, **params})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def close(self) -> None:
        self.client.close()


def build(
    rpc: Rpc, private_key: bytes, delta: int, link: bytes = ZERO32, rep: bytes | None = None
) -> StateBlock:
    """A block on the account's frontier, from ONE account_info call (notes §4)."""
    account = pub(private_key)
    info = rpc("account_info", account=codec.account_encode(account), representative=True)
    previous, balance, current_rep = ZERO32, 0, account
    if "error" not in info:
        previous = bytes.fromhex(info["frontier"])
        balance = int(info["balance"])
        current_rep = codec.account_decode(info["representative"])
    block = StateBlock(account, previous, rep or current_rep, balance + delta, link)
    return block.signed(private_key).worked(MAX_WORK)


def publish(rpc: Rpc, block: StateBlock, subtype: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"json_block": True, "block": block.to_json()}
    if subtype:
        params["subtype"] = subtype
    return rpc("process", **params)


def fund(rpc: Rpc, account: str, amount: int) -> str:
    answer = rpc("peer_fund", account=account, amount=str(amount))
    hash_: str = answer["hash"]
    return hash_


def open_account(rpc: Rpc, private_key: bytes, amount: int) -> str:
    source = fund(rpc, codec.account_encode(pub(private_key)), amount)
    rpc("peer_confirm_all")
    answer = publish(rpc, build(rpc, private_key, amount, bytes.fromhex(source)), "open")
    hash_: str = answer["hash"]
    return hash_


def confirmed(rpc: Rpc, hash_: str) -> bool:
    return bool(rpc("block_info", hash=hash_)["confirmed"] == "true")
