"""ETH deposit scan speed: blocks per second with 200 transactions per block, as a ratio of the
raw time to fetch the same blocks over JSON-RPC (eth_getBlockByNumber with full transactions,
batched the same way) in the same run.

The chain is made on anvil: BLOCKS blocks of 200 transfers each, OURS of them to deposit
addresses of the pool (assigned to users), the rest to addresses nobody knows. The watcher's
scan does everything `discover_deposits` does: head, pool refresh, block fetch, parent-hash
links, address matching, receipts of the candidates, deposit reports to the coordinator (over
loopback HTTP, SQLite) and a cursor save per batch. Run: `.venv/bin/python bench/watcher_eth.py`.
"""

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import coincurve
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custody.chains.ethereum import to_checksum_address
from custody.chains.ethereum_tx import Eip1559Tx, address_bytes
from custody.coordinator.db.migrate import upgrade
from tests.integration.ethereum.stack import EthStack, build_stack
from tests.support.anvil import CHAIN_ID, DEV, DEV_KEYS, GWEI

PER_BLOCK = 200


def foreign(i: int) -> str:
    """An address nobody in the pool has."""
    return to_checksum_address("0x" + hashlib.sha256(f"other {i}".encode()).hexdigest()[:40])


def signed(key: coincurve.PrivateKey, nonce: int, to: str, value: int) -> str:
    """A dev account's transfer, signed here (eth_sendTransaction cannot be batched safely)."""
    tx = Eip1559Tx(CHAIN_ID, nonce, GWEI, 50 * GWEI, 21_000, address_bytes(to), value)
    sig = key.sign_recoverable(tx.signing_hash(), hasher=None)
    raw = tx.signed(sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"))
    return "0x" + raw.hex()


def make_chain(stack: EthStack, blocks: int, ours: int) -> tuple[int, int]:
    """Mine `blocks` blocks of PER_BLOCK transfers; returns (first, last) block numbers."""
    users = [stack.address(f"user-{i}") for i in range(ours)]
    keys = [coincurve.PrivateKey(bytes.fromhex(k[2:])) for k in DEV_KEYS]
    nonces = [stack.anvil.nonce(a) for a in DEV]
    stack.anvil.automine(False)
    first = stack.anvil.head() + 1
    for b in range(blocks):
        calls = []
        for i in range(PER_BLOCK):
            to = users[i] if i < ours else foreign(b * PER_BLOCK + i)
            sender = i % len(keys)
            raw = signed(keys[sender], nonces[sender], to, 10**15 + i)
            nonces[sender] += 1
            calls.append(("eth_sendRawTransaction", [raw]))
        stack.anvil.batch(calls)
        stack.anvil.mine(1)
    last = stack.anvil.head()
    block = stack.anvil.rpc("eth_getBlockByNumber", hex(last), False)
    assert len(block["transactions"]) == PER_BLOCK, "anvil did not put them all in one block"
    return first, last


def raw_fetch(url: str, first: int, last: int, batch: int) -> float:
    """Seconds to fetch the blocks with full transactions, batched, JSON decoded."""
    with httpx.Client(timeout=60) as client:
        start = time.perf_counter()
        for at in range(first, last + 1, batch):
            numbers = range(at, min(last, at + batch - 1) + 1)
            body = [{"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber",
                     "params": [hex(n), True]} for n in numbers]
            answers = client.post(url, json=body).json()
            assert all(a.get("result") for a in answers)
        return time.perf_counter() - start


def scan(stack: EthStack, first: int) -> tuple[float, int]:
    """Seconds for a fresh watcher to scan from `first` to the head; deposits reported."""
    stack.api.watcher.put("/v1/cursors/ETH", {"cursor": f'{{"next":{first},"blocks":[]}}'})
    stack.restart_watcher("ETH")
    watcher = stack.watcher("ETH")
    watcher.prepare()
    start = time.perf_counter()
    reports = watcher.discover_deposits()
    return time.perf_counter() - start, reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--ours", type=int, default=2, help="transfers per block to our pool")
    parser.add_argument("--batch", type=int, default=50, help="blocks per JSON-RPC batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.sqlite3"
        upgrade(f"sqlite:///{template}")
        with build_stack(Path(tmp), template, "--gas-limit", "100000000",
                         pool_target=max(args.ours, 5), scan_batch=args.batch) as stack:
            first, last = make_chain(stack, args.blocks, args.ours)
            count = last - first + 1
            raw = min(raw_fetch(stack.anvil.url, first, last, args.batch)
                      for _ in range(args.rounds))
            runs = [scan(stack, first) for _ in range(args.rounds)]
            watched = min(seconds for seconds, _ in runs)
            assert all(r == count * args.ours for _, r in runs), runs
    print(f"{count} blocks x {PER_BLOCK} txs, {args.ours} per block to our pool, "
          f"batches of {args.batch}, best of {args.rounds}")
    print(f"raw RPC fetch : {count / raw:8.1f} blocks/s ({raw:.3f} s)")
    print(f"watcher scan  : {count / watched:8.1f} blocks/s ({watched:.3f} s)")
    print(f"ratio (scan / raw fetch): {raw / watched:.3f}")


if __name__ == "__main__":
    main()
