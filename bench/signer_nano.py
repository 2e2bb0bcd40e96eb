"""Nano signer throughput: checked-and-signed send blocks per second, as ratios of the raw
ed25519-blake2b signature rate measured in the same run.

Each template is a distinct withdrawal send from the hot account, with an exchange-signed
intent and one operator approval, and goes through everything `TemplateSigner.sign` does:
strict payload parse, hash recomputation, path re-derivation, previous-block proof, intent and
approval signatures, amount/destination/representative checks, journal rules, signing, and an
fsynced journal append. Two shapes:
- chain: each send is built on the one signed just before (a run signed ahead of
  confirmation); the signer knows that previous signature as its own and skips verifying it;
- cold: each previous block was signed elsewhere (another process, a restart): its signature
  is verified (one ed25519-blake2b verification per template).
Run: `.venv/bin/python bench/signer_nano.py [-n N]`.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ed25519_blake2b

# Templates come from the test suite's builders (the peer's libsodium code, not the signer's).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custody.contract.templates import Template
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.policy import load_policy
from custody.signer.signing import TemplateSigner
from tests.unit.nano.nano_templates import (
    SEED,
    XNO,
    foreign_account,
    hot_chain,
    pay,
    write_nano_policy,
)

AMOUNT = 2 * XNO  # above 1 XNO: one operator approval to verify, as in bench/signer.py


def raw_rates(seconds: float) -> tuple[float, float]:
    """(signatures/s, verifications/s) of ed25519-blake2b over fresh 32-byte hashes."""
    key = ed25519_blake2b.SigningKey(os.urandom(32))
    public = key.get_verifying_key()
    messages = [os.urandom(32) for _ in range(500)]
    signatures = [key.sign(m) for m in messages]
    rates = []
    for step in (lambda i: key.sign(messages[i]),
                 lambda i: public.verify(signatures[i], messages[i])):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for i in range(len(messages)):
                step(i)
            count += len(messages)
        rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1]


def chain_templates(count: int) -> list[Template]:
    """Sends each built on the previous one."""
    prev = hot_chain(10**6 * XNO)
    made = []
    for n in range(count):
        case = pay(foreign_account(f"bench {n}"), AMOUNT, prev=prev, wid=f"w-chain-{n}",
                   user=f"u{n}", approvers=1)
        case.tid = f"t-chain-{n}"
        made.append(case.template())
        prev = case.block
    return made


def cold_templates(count: int) -> list[Template]:
    """Sends each on its own previous block, signed by the builder (not by this signer)."""
    made = []
    for n in range(count):
        case = pay(foreign_account(f"cold {n}"), AMOUNT, prev=hot_chain(10**6 * XNO + n),
                   wid=f"w-cold-{n}", user=f"v{n}", approvers=1)
        case.tid = f"t-cold-{n}"
        made.append(case.template())
    return made


def timed(sign: Callable[[Template], object], templates: Sequence[Template]) -> float:
    """Templates per second."""
    start = time.perf_counter()
    for template in templates:
        sign(template)
    return len(templates) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="templates per shape")
    args = parser.parse_args()
    shapes = {"chain": chain_templates(args.n), "cold": cold_templates(args.n)}
    raw, verify = raw_rates(2.0)
    print(f"raw ed25519-blake2b: {raw:,.0f} signatures/s, {verify:,.0f} verifications/s")
    with tempfile.TemporaryDirectory() as tmp:
        policy = load_policy(write_nano_policy(Path(tmp), max_per_withdrawal=10**9 * XNO,
                                               max_per_day=10**9 * XNO))
        with Journal(Path(tmp) / "journal.jsonl") as journal:
            signer = TemplateSigner(policy, KeyRing(SEED), journal)
            for name, templates in shapes.items():
                rate = timed(signer.sign, templates)
                print(f"{name:>5} sends: {rate:,.0f} checked-and-signed/s = "
                      f"{rate / raw:.3f} of the raw signature rate")
            again = timed(signer.sign, shapes["chain"])  # journaled already: no append
            print(f"chain again (no journal write): {again:,.0f}/s = {again / raw:.3f}")


if __name__ == "__main__":
    main()
