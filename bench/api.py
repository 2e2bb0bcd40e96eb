"""Coordinator throughput: deposit upserts and deposit-address assignment per second, on SQLite
and PostgreSQL, as ratios of a bare FastAPI endpoint measured in the same run.

Each server runs as its own process (uvicorn, one worker) on loopback; the client sends from
8 threads. Run: `.venv/bin/python bench/api.py [--requests N]`.
"""

import argparse
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import coincurve
import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
THREADS = 8
CONFIG = """
exchange_public_key = "{key}"
[[currencies]]
code = "LTC"
family = "bitcoin"
network = "ltc-regtest"
decimals = 8
confirmations = 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


@contextmanager
def process(args: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(health)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rate(n: int, send: Callable[[int], httpx.Response]) -> float:
    """Requests per second for n requests from THREADS threads; every answer must be 200."""
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        codes = list(pool.map(lambda i: send(i).status_code, range(n)))
    elapsed = time.perf_counter() - start
    bad = [c for c in codes if c != 200]
    if bad:
        raise SystemExit(f"{len(bad)} requests failed, e.g. HTTP {bad[0]}")
    return n / elapsed


def bare_rate(n: int) -> float:
    port = free_port()
    args = [PY, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--log-level", "warning"]
    with process(args, dict(os.environ), f"http://127.0.0.1:{port}/docs"):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            body = {"currency": "LTC", "txid": "ab" * 32, "amount": "1000"}
            rate(50, lambda i: http.post("/echo", json=body))  # warm up
            return rate(n, lambda i: http.post("/echo", json=body))


def address(i: int) -> tuple[str, str]:
    from custody.chains.bitcoin import network, p2wpkh_address

    pub = coincurve.PrivateKey(hashlib.sha256(f"bench {i}".encode()).digest()).public_key.format(True)
    return p2wpkh_address(network("ltc-regtest"), pub), pub.hex()


def coordinator_rates(database_url: str, n: int, workdir: Path) -> tuple[float, float]:
    config = workdir / "custody.toml"
    config.write_text(CONFIG.format(key=secrets.token_hex(32)))
    port = free_port()
    env = {**os.environ, "CUSTODY_DATABASE_URL": database_url, "CUSTODY_CONFIG_FILE": str(config),
           "CUSTODY_PORT": str(port)}
    tokens = {role: subprocess.run([PY, "-m", "custody", "coordinator", "token", "create", "--role", role],
                                   env=env, capture_output=True, text=True, check=True).stdout.strip()
              for role in ("signer", "exchange", "watcher")}
    with process([PY, "-m", "custody", "coordinator", "serve"], env, f"http://127.0.0.1:{port}/health"):
        base = f"http://127.0.0.1:{port}"
        signer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['signer']}"})
        exchange = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['exchange']}"})
        watcher = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['watcher']}"})
        pool = [address(i) for i in range(n + 50)]
        for start in range(0, len(pool), 500):
            items = [{"currency": "LTC", "address": a, "public_key": p, "derivation_path": f"m/84'/1'/0'/0/{i}"}
                     for i, (a, p) in enumerate(pool[start:start + 500], start)]
            signer.post("/v1/addresses", json={"addresses": items}).raise_for_status()
        assigned: dict[int, str] = {}

        def assign(i: int) -> httpx.Response:
            r = exchange.post("/v1/deposit-addresses", json={"user_id": f"u{i}", "currency": "LTC"})
            assigned[i] = r.json().get("address", "")
            return r

        rate(50, lambda i: assign(n + i))  # warm up on users outside the measured range
        assign_rate = rate(n, assign)

        def upsert(i: int) -> httpx.Response:
            report = {"currency": "LTC", "txid": hashlib.sha256(str(i).encode()).hexdigest(), "output_index": 0,
                      "address": assigned[i], "amount": "100000", "block_hash": "00" * 32, "block_height": 1,
                      "confirmations": 1}
            return watcher.post("/v1/deposits", json={"deposits": [report]})

        upsert_rate = rate(n, upsert)
    return upsert_rate, assign_rate


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"custody_bench_{secrets.token_hex(4)}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    n = parser.parse_args().requests
    bare = bare_rate(n)
    print(f"baseline  bare FastAPI POST: {bare:8.0f} req/s")
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": coordinator_rates(f"sqlite:///{tmp}/bench.sqlite3", n, Path(tmp))}
        with postgres_database() as url:
            results["postgresql"] = coordinator_rates(url, n, Path(tmp))
    for db, (upsert, assign) in results.items():
        print(f"{db:10} deposit upsert:     {upsert:8.0f} req/s  ratio {upsert / bare:.3f} of baseline")
        print(f"{db:10} address assignment: {assign:8.0f} req/s  ratio {assign / bare:.3f} of baseline")


if __name__ == "__main__":
    main()
