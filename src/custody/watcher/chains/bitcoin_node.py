"""Typed Bitcoin Core / Litecoin Core RPC calls for the watcher: amounts become integers here."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from custody.contract.addresses import WatchAddress
from custody.contract.amounts import to_decimal_string
from custody.watcher.errors import ChainMismatch, NodeError
from custody.watcher.rpc import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_WALLET_ALREADY_LOADED,
    RPC_WALLET_NOT_FOUND,
    NodeRpc,
)

# Chain names as getblockchaininfo reports them, by the suffix of our network names.
CHAIN_OF_NETWORK = {"main": "main", "test": "test", "regtest": "regtest"}


@dataclass(frozen=True)
class BlockRef:
    """A block by hash and height."""

    hash: str
    height: int


@dataclass(frozen=True)
class Outpoint:
    """A transaction output by id and index."""

    txid: str
    vout: int

    def rpc(self) -> dict[str, Any]:
        """The form lockunspent takes."""
        return {"txid": self.txid, "vout": self.vout}


@dataclass(frozen=True)
class WalletEntry:
    """One row of listsinceblock: one output (receive) or one payment (send) of a transaction."""

    txid: str
    vout: int
    address: str
    category: str
    amount: int  # base units; negative for sends
    confirmations: int  # negative: conflicted by a transaction that deep
    block_hash: str | None
    block_height: int | None

    @property
    def key(self) -> tuple[str, int]:
        """(txid, vout): the deposit's natural key within a currency."""
        return self.txid, self.vout


@dataclass(frozen=True)
class SinceBlock:
    """listsinceblock's answer: current wallet rows, rows of detached blocks, the resume block."""

    entries: list[WalletEntry]
    removed: list[WalletEntry]
    lastblock: str


@dataclass(frozen=True)
class TxStatus:
    """What the wallet knows of one of its transactions."""

    txid: str
    confirmations: int
    block_hash: str | None
    block_height: int | None
    conflicts: tuple[str, ...]
    hex: str


def base_units(value: Any, decimals: int) -> int:
    """A node amount (parsed as Decimal, never float) in integer base units; exact or an error."""
    scaled = Decimal(value).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise NodeError("amount", 0, f"amount {value} has more than {decimals} decimals")
    return int(scaled)


class BitcoinNode:
    """The RPC calls the watcher makes, on one node and its watch-only wallet."""

    def __init__(self, rpc: NodeRpc, decimals: int = 8):
        self.rpc = rpc
        self.decimals = decimals

    def check_chain(self, network: str) -> None:
        """Refuse a node that runs another chain than the currency's network."""
        expected = CHAIN_OF_NETWORK.get(network.rsplit("-", 1)[-1])
        chain = self.rpc.call("getblockchaininfo")["chain"]
        if chain != expected:
            raise ChainMismatch(
                f"the node runs chain {chain!r}, network {network} needs {expected!r}"
            )

    def ensure_wallet(self) -> None:
        """Load the watch-only wallet, or create it (no keys, loaded again on node restart)."""
        name = self.rpc.config.wallet
        if name in self.rpc.call("listwallets"):
            return
        try:
            self.rpc.call("loadwallet", name, True)
        except NodeError as e:
            if e.code == RPC_WALLET_ALREADY_LOADED:
                return
            if e.code != RPC_WALLET_NOT_FOUND:
                raise
            # disable_private_keys, blank, no passphrase, no reuse avoidance, legacy, autoload
            self.rpc.call("createwallet", name, True, True, "", False, False, True)

    def best_block(self) -> BlockRef:
        """The tip of the active chain."""
        info = self.rpc.call("getblockchaininfo")
        return BlockRef(info["bestblockhash"], int(info["blocks"]))

    def block_ref(self, block_hash: str) -> BlockRef:
        """A block's height."""
        return BlockRef(block_hash, int(self.rpc.call("getblockheader", block_hash)["height"]))

    def block_hash(self, height: int) -> str:
        """The active chain's block at `height`."""
        return str(self.rpc.call("getblockhash", height))

    def stale_blocks(self, hashes: Iterable[str]) -> tuple[list[str], list[str]]:
        """(blocks no longer in the active chain, blocks the node does not know at all)."""
        wanted = sorted(set(hashes))
        answers = self.rpc.batch([("getblockheader", [h]) for h in wanted])
        stale, unknown = [], []
        for block, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, NodeError):
                if answer.code != RPC_INVALID_ADDRESS_OR_KEY:
                    raise answer
                unknown.append(block)
            elif int(answer["confirmations"]) < 0:
                stale.append(block)
        return stale, unknown

    def list_since(self, block: str | None, target_confirmations: int) -> SinceBlock:
        """Wallet rows since `block` (all rows if None), with the rows of detached blocks."""
        answer = self.rpc.call(
            "listsinceblock", block or "", target_confirmations, True, True, wallet=True
        )
        return SinceBlock(
            entries=[self._entry(row) for row in answer["transactions"]],
            removed=[self._entry(row) for row in answer.get("removed", [])],
            lastblock=str(answer["lastblock"]),
        )

    def _entry(self, row: dict[str, Any]) -> WalletEntry:
        return WalletEntry(
            txid=str(row["txid"]),
            vout=int(row.get("vout", 0)),
            address=str(row.get("address", "")),
            category=str(row["category"]),
            amount=base_units(row["amount"], self.decimals),
            confirmations=int(row["confirmations"]),
            block_hash=row.get("blockhash"),
            block_height=None if row.get("blockheight") is None else int(row["blockheight"]),
        )

    def import_addresses(
        self, entries: Sequence[WatchAddress], timeout: float | None
    ) -> dict[str, str]:
        """Watch these P2WPKH keys, no rescan; returns {address: error} of those refused.

        importmulti with the script and its public key makes them solvable, like importpubkey,
        but without also watching the key's P2PKH and P2SH-P2WPKH scripts: coins paid there
        would be picked as inputs, and the signer (P2WPKH only) would refuse the template."""
        requests = [
            {
                "scriptPubKey": {"address": e.address},
                "pubkeys": [e.public_key],
                "timestamp": "now",
                "watchonly": True,
                "label": e.branch.value,
            }
            for e in entries
        ]
        results = self.rpc.call(
            "importmulti", requests, {"rescan": False}, wallet=True, timeout=timeout
        )
        refused = {}
        for entry, result in zip(entries, results, strict=True):
            if not result.get("success"):
                error = result.get("error") or {}
                refused[entry.address] = f"{error.get('code')}: {error.get('message')}"
        return refused

    def rescan(self, from_height: int, timeout: float | None) -> None:
        """Scan the chain from `from_height` for transactions of newly watched keys."""
        self.rpc.call("rescanblockchain", from_height, wallet=True, timeout=timeout)

    def fee_rate(self, conf_target: int) -> int | None:
        """The node's estimate in base units per vbyte (rounded up), or None without data."""
        answer = self.rpc.call("estimatesmartfee", conf_target)
        if "feerate" not in answer:
            return None
        per_kvb = base_units(answer["feerate"], self.decimals)
        return -(-per_kvb // 1000)

    def fund_psbt(
        self, outputs: Sequence[tuple[str, int]], change: str, rate: int, *, lock: bool = True
    ) -> str:
        """A PSBT paying `outputs` from watched coins, change to `change`, inputs locked."""
        options = {
            "includeWatching": True,
            "changeAddress": change,
            "lockUnspents": lock,
            "feeRate": to_decimal_string(rate * 1000, self.decimals),
            "replaceable": True,
        }
        payees = [
            {address: to_decimal_string(amount, self.decimals)} for address, amount in outputs
        ]
        answer = self.rpc.call("walletcreatefundedpsbt", [], payees, 0, options, False, wallet=True)
        return str(answer["psbt"])

    def locked(self) -> set[Outpoint]:
        """Outputs locked against coin selection (the node forgets them when it restarts)."""
        rows = self.rpc.call("listlockunspent", wallet=True)
        return {Outpoint(str(r["txid"]), int(r["vout"])) for r in rows}

    def set_locked(self, outpoints: Iterable[Outpoint], locked: bool) -> None:
        """Lock or unlock outputs."""
        items = [o.rpc() for o in sorted(outpoints, key=lambda o: (o.txid, o.vout))]
        if items:
            self.rpc.call("lockunspent", not locked, items, wallet=True)

    def unspent(self, *, include_unsafe: bool) -> dict[Outpoint, int]:
        """Unlocked outputs of watched keys with their amounts; `safe` ones only unless asked
        (unsafe: unconfirmed from others, which coin selection does not use)."""
        rows = self.rpc.call("listunspent", 0, 9_999_999, [], include_unsafe, wallet=True)
        return {
            Outpoint(str(r["txid"]), int(r["vout"])): base_units(r["amount"], self.decimals)
            for r in rows
        }

    def transactions(self, txids: Iterable[str]) -> dict[str, TxStatus]:
        """The wallet's view of each transaction it knows; unknown ones are left out."""
        wanted = sorted(set(txids))
        answers = self.rpc.batch([("gettransaction", [t, True]) for t in wanted], wallet=True)
        found = {}
        for txid, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, NodeError):
                if answer.code != RPC_INVALID_ADDRESS_OR_KEY:
                    raise answer
                continue
            found[txid] = TxStatus(
                txid=txid,
                confirmations=int(answer["confirmations"]),
                block_hash=answer.get("blockhash"),
                block_height=None
                if answer.get("blockheight") is None
                else int(answer["blockheight"]),
                conflicts=tuple(answer.get("walletconflicts", [])),
                hex=str(answer.get("hex", "")),
            )
        return found

    def transaction(self, txid: str) -> TxStatus | None:
        """The wallet's view of one transaction, or None."""
        return self.transactions([txid]).get(txid)

    def in_mempool(self, txid: str) -> bool:
        """Whether the node's mempool holds `txid`."""
        try:
            self.rpc.call("getmempoolentry", txid)
        except NodeError as e:
            if e.code == RPC_INVALID_ADDRESS_OR_KEY:
                return False
            raise
        return True

    def send_raw(self, signed_hex: str) -> str:
        """sendrawtransaction; NodeError carries the node's reason when it refuses."""
        return str(self.rpc.call("sendrawtransaction", signed_hex))

    def output_unspent(self, outpoint: Outpoint) -> bool:
        """Whether the output exists unspent (mempool spends count as spent)."""
        return self.rpc.call("gettxout", outpoint.txid, outpoint.vout, True) is not None

    def wallet_txids_since(self, block_hash: str) -> list[str]:
        """Ids of wallet transactions in blocks after `block_hash` and in the mempool."""
        answer = self.rpc.call("listsinceblock", block_hash, 1, True, False, wallet=True)
        return sorted({str(row["txid"]) for row in answer["transactions"]})

    def decoded_inputs(self, txid: str) -> list[Outpoint]:
        """The outputs a wallet transaction spends."""
        answer = self.rpc.call("gettransaction", txid, True, True, wallet=True)
        return [
            Outpoint(str(i["txid"]), int(i["vout"]))
            for i in answer["decoded"]["vin"]
            if "txid" in i
        ]

    def previous_block(self, block_hash: str) -> str:
        """The parent of a block."""
        return str(self.rpc.call("getblockheader", block_hash)["previousblockhash"])
