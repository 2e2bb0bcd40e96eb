"""Does the node's watch-only wallet scale? A block of 1,000 deposits, 1,000 vs 100,000 keys.

For two legacy watch-only wallets on one regtest litecoind, one watching 1,000 pool keys and
one watching 100,000, it measures:
- the import of the keys (importmulti, as the watcher does it, in pages of 1,000), with the
  time per key along the way; and importpubkey, the RPC the issue names, on a sample;
- for a transaction paying 1,000 of the watched addresses: its acceptance to the mempool
  (the wallet checks every output), the block that mines it, and the watcher's processing of
  that block (DepositScanner.discover: listsinceblock, pool lookup, 1,000 reports to a stub
  coordinator that answers at once, so only node and watcher are timed).
Only the wallet under test is loaded while it is measured. Ratios are large wallet / small.

Run: `.venv/bin/python bench/watcher_utxo.py [--keys 100000] [--deposits 1000] [--blocks 3]`
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import coincurve
import httpx

from custody.chains import bitcoin as chain
from custody.contract.addresses import AddressBranch, WatchAddress
from custody.contract.amounts import to_decimal_string
from custody.watcher.addressbook import AddressBook
from custody.watcher.chains.bitcoin_deposits import DepositScanner
from custody.watcher.chains.bitcoin_node import BitcoinNode
from custody.watcher.rpc import NodeRpc
from custody.watcher.settings import NodeConfig

NET = chain.network("ltc-regtest")
PAGE = 1000
# One confirmation: each scan then lists exactly the new block (with a depth of N, every
# deposit is listed, and reported with its new count, in N scans).
CONFIRMATIONS = 1


class Node:
    """litecoind -regtest in a temporary datadir."""

    def __init__(self) -> None:
        self.datadir = Path(tempfile.mkdtemp(prefix="bench-ltc-"))
        self.port = _free_port()
        self.auth = ("bench", secrets.token_hex(8))
        conf = self.datadir / "litecoin.conf"
        conf.write_text(
            "regtest=1\nserver=1\nlisten=0\ndnsseed=0\nfallbackfee=0.0001\n"
            f"[regtest]\nrpcport={self.port}\nrpcbind=127.0.0.1\nrpcallowip=127.0.0.1\n"
            f"rpcuser={self.auth[0]}\nrpcpassword={self.auth[1]}\nrpcworkqueue=64\n"
        )
        self.proc = subprocess.Popen(
            ["litecoind", f"-datadir={self.datadir}", f"-conf={conf}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(auth=self.auth, timeout=3600)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.rpc("getblockchaininfo")
                break
            except (httpx.HTTPError, RuntimeError):
                if time.monotonic() > deadline:
                    raise SystemExit("litecoind did not start") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time litecoind has used so far (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rpc(self, method: str, *params: Any, wallet: str | None = None) -> Any:
        url = f"http://127.0.0.1:{self.port}" + (f"/wallet/{wallet}" if wallet else "")
        body = {"jsonrpc": "1.0", "id": 1, "method": method, "params": list(params)}
        answer = json.loads(self.http.post(url, json=body).content, parse_float=Decimal)
        if answer.get("error"):
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def stop(self) -> None:
        try:
            self.rpc("stop")
            self.proc.wait(timeout=120)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.http.close()
            shutil.rmtree(self.datadir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pool(label: str, count: int) -> list[WatchAddress]:
    """`count` receive addresses with their keys, as the coordinator lists them."""
    entries = []
    for i in range(count):
        secret = hashlib.sha256(f"{label}/{i}".encode()).digest()
        pub = coincurve.PrivateKey(secret).public_key.format(compressed=True)
        entries.append(
            WatchAddress(
                currency="LTC",
                address=chain.p2wpkh_address(NET, pub),
                public_key=pub.hex(),
                derivation_path=f"m/84'/1'/0'/0/{i}",
                fingerprint="00000000",
                branch=AddressBranch.RECEIVE,
                imported=False,
            )
        )
    return entries


class StubCoordinator:
    """Answers the scanner instantly from memory: the benchmark times node and watcher only."""

    def __init__(self, entries: Sequence[WatchAddress]):
        self.by_address = {e.address: e for e in entries}
        self.stored: str | None = None
        self.reported = 0

    def lookup(self, currency: str, addresses: Sequence[str]) -> list[WatchAddress]:
        return [self.by_address[a] for a in addresses if a in self.by_address]

    def cursor(self, currency: str) -> str | None:
        return self.stored

    def put_cursor(self, currency: str, cursor: str) -> None:
        self.stored = cursor

    def report_deposits(self, reports: Sequence[Any]) -> list[Any]:
        self.reported += len(reports)
        return list(reports)


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def import_keys(
    node: Node, wallet: str, entries: Sequence[WatchAddress], label: str
) -> tuple[float, float]:
    """Import through the watcher's own code, page by page; (wall, node CPU) seconds.

    Wall time is mostly the disk: a legacy wallet syncs it about a dozen times per key, so it
    varies with the machine's other I/O; the node's CPU time is the steadier measure."""
    watch = BitcoinNode(NodeRpc(_config(node, wallet)))
    wall = cpu = 0.0
    for at in range(0, len(entries), PAGE):
        page = entries[at : at + PAGE]
        before = node.cpu_seconds()
        elapsed = timed(lambda p=page: watch.import_addresses(p, timeout=3600))  # type: ignore[misc]
        used = node.cpu_seconds() - before
        wall, cpu = wall + elapsed, cpu + used
        done = at + len(page)
        if done in (PAGE, 10 * PAGE) or done % (25 * PAGE) == 0 or done == len(entries):
            print(
                f"  {label}: {done:>7} keys, {wall:7.1f} s wall, {cpu:6.1f} s node CPU; last "
                f"page {elapsed * 1000 / len(page):.2f} ms/key wall, "
                f"{used * 1000 / len(page):.2f} ms/key CPU",
                flush=True,
            )
    return wall, cpu


def importpubkey_sample(node: Node, wallet: str, entries: Sequence[WatchAddress]) -> float:
    """importpubkey for each key (one JSON-RPC batch per page); seconds per key."""
    start = time.perf_counter()
    for at in range(0, len(entries), PAGE):
        calls = [
            {
                "jsonrpc": "1.0",
                "id": n,
                "method": "importpubkey",
                "params": [e.public_key, "", False],
            }
            for n, e in enumerate(entries[at : at + PAGE])
        ]
        node.http.post(f"http://127.0.0.1:{node.port}/wallet/{wallet}", json=calls)
    return (time.perf_counter() - start) / len(entries)


def _config(node: Node, wallet: str) -> NodeConfig:
    return NodeConfig(
        url=f"http://127.0.0.1:{node.port}",
        user=node.auth[0],
        password=node.auth[1],
        wallet=wallet,
        rpc_timeout=3600,
    )


def deposit_tx(node: Node, addresses: Sequence[str]) -> str:
    """A signed transaction from the miner paying each address 0.001 LTC (not yet sent)."""
    outputs = {a: to_decimal_string(100_000, 8) for a in addresses}
    raw = node.rpc("createrawtransaction", [], outputs, wallet="miner")
    funded = node.rpc("fundrawtransaction", raw, wallet="miner")["hex"]
    return str(node.rpc("signrawtransactionwithwallet", funded, wallet="miner")["hex"])


def measure_blocks(
    node: Node, wallet: str, entries: Sequence[WatchAddress], deposits: int, blocks: int
) -> dict[str, float]:
    """Median seconds, over `blocks` blocks, of mempool acceptance, mining and the scan."""
    stub = StubCoordinator(entries)
    rpc = NodeRpc(_config(node, wallet))
    scanner = DepositScanner(
        BitcoinNode(rpc),
        stub,
        AddressBook(stub, "LTC"),
        lambda point: None,
        100,  # type: ignore[arg-type]
    )
    miner_address = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    scanner.discover("LTC", CONFIRMATIONS)  # the cursor starts at the tip
    # Spread over the whole wallet; the small wallet's addresses are paid again in each block.
    step = max(1, len(entries) // (deposits * blocks))
    results: dict[str, list[float]] = {"accept": [], "mine": [], "scan": [], "listsinceblock": []}
    for b in range(blocks):
        chosen = [
            entries[(b * deposits + i) * step % len(entries)].address for i in range(deposits)
        ]
        tx = deposit_tx(node, chosen)
        results["accept"].append(timed(lambda tx=tx: node.rpc("sendrawtransaction", tx)))
        results["mine"].append(timed(lambda: node.rpc("generatetoaddress", 1, miner_address)))
        cursor = json.loads(stub.stored or "{}").get("scan_from", {}).get("hash", "")
        listing = ("listsinceblock", cursor, CONFIRMATIONS, True, True)
        results["listsinceblock"].append(timed(lambda a=listing: rpc.call(*a, wallet=True)))
        before = stub.reported
        results["scan"].append(timed(lambda: scanner.discover("LTC", CONFIRMATIONS)))
        assert stub.reported - before >= deposits, "the scan missed deposits"
    rpc.close()
    return {k: statistics.median(v) for k, v in results.items()}


def run(keys: int, deposits: int, blocks: int) -> None:
    node = Node()
    try:
        node.rpc("createwallet", "miner")
        node.rpc("generatetoaddress", 110 + blocks * 2, node.rpc("getnewaddress", wallet="miner"))
        small, large = pool("small", 1000), pool("large", keys)
        results: dict[str, dict[str, float]] = {}
        imports: dict[str, tuple[float, float]] = {}
        for name, entries in (("small", small), ("large", large)):
            node.rpc("createwallet", name, True, True, "", False, False, False)
            print(f"importing {len(entries)} keys into {name}", flush=True)
            imports[name] = import_keys(node, name, entries, name)
            results[name] = measure_blocks(node, name, entries, deposits, blocks)
            node.rpc("unloadwallet", name)
        node.rpc("createwallet", "sample", True, True, "", False, False, False)
        per_key_pubkey = importpubkey_sample(node, "sample", pool("sample", 2000))
        report(keys, deposits, results, imports, per_key_pubkey)
    finally:
        node.stop()


def report(
    keys: int,
    deposits: int,
    results: dict[str, dict[str, float]],
    imports: dict[str, tuple[float, float]],
    per_key_pubkey: float,
) -> None:
    print()
    print(f"block with {deposits} deposit outputs (median ms)   1,000 keys  {keys:,} keys  ratio")
    for what, label in (
        ("accept", "mempool acceptance (sendrawtransaction)"),
        ("mine", "block connected (generatetoaddress 1)"),
        ("listsinceblock", "listsinceblock alone"),
        ("scan", "watcher: discover_deposits, whole step"),
    ):
        a, b = results["small"][what] * 1000, results["large"][what] * 1000
        print(f"{label:<44} {a:>10.1f}  {b:>10.1f}  {b / a:5.2f}")
    print()
    for name, count in (("small", 1000), ("large", keys)):
        wall, cpu = imports[name]
        print(
            f"import {count:>7,} keys (importmulti, pages of {PAGE}): {wall:8.1f} s wall "
            f"({wall * 1000 / count:.2f} ms/key), node CPU {cpu * 1000 / count:.2f} ms/key"
        )
    (small_wall, small_cpu), (large_wall, large_cpu) = imports["small"], imports["large"]
    print(
        f"per-key ratio, {keys:,} / 1,000: wall {large_wall / keys / (small_wall / 1000):.2f}, "
        f"CPU {large_cpu / keys / (small_cpu / 1000):.2f}"
    )
    print(f"importpubkey, 2,000 keys in JSON-RPC batches: {per_key_pubkey * 1000:.2f} ms/key wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--deposits", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    run(args.keys, args.deposits, args.blocks)


if __name__ == "__main__":
    main()
