"""Signer throughput: checked-and-signed templates per second, 1-input/2-output and
10-input/2-output withdrawals, as ratios of the raw coincurve signature rate of the same run.

Each template is distinct (its own coins and withdrawal), carries an exchange-signed intent and
one operator approval, and goes through everything `TemplateSigner.sign` does: strict PSBT
parse, derivation re-checks, intent and approval signatures, output matching, fees, journal
rules, signing, and an fsynced journal append. Run: `.venv/bin/python bench/signer.py [-n N]`.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import coincurve
from bip_utils import Bip39SeedGenerator

# The templates are built with the test suite's builders (embit, not the signer's own code).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custody.contract.templates import Template
from custody.signer.derivation import KeyRing
from custody.signer.journal import Journal
from custody.signer.policy import load_policy
from custody.signer.signing import TemplateSigner
from tests.support.keys import OPERATORS
from tests.support.signer_templates import (
    ALICE,
    ALICE_SCRIPT,
    MNEMONIC,
    ONE,
    Case,
    Coin,
    Out,
    change_out,
    path,
    withdrawal,
    write_policy,
)

PAYMENT = 2 * ONE  # the middle approval tier: one operator approval to verify
FEE = 20_000


def raw_signature_rate(seconds: float) -> float:
    """coincurve ECDSA signatures per second over fresh 32-byte digests."""
    key = coincurve.PrivateKey(os.urandom(32))
    digests = [os.urandom(32) for _ in range(1000)]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for digest in digests:
            key.sign(digest, hasher=None)
        count += len(digests)
    return count / (time.perf_counter() - start)


def make_templates(inputs: int, count: int) -> list[Template]:
    """`count` distinct withdrawals, each spending `inputs` coins of the account."""
    value = (PAYMENT + ONE) // inputs
    made = []
    for n in range(count):
        coins = [Coin(path(0, (n * inputs + i) % 50), value, f"bench {inputs} {n} {i}")
                 for i in range(inputs)]
        change = value * inputs - PAYMENT - FEE
        case = Case(
            coins=coins,
            outputs=[Out(ALICE_SCRIPT, PAYMENT), change_out(n % 50, change)],
            withdrawals=[withdrawal(f"w-{inputs}-{n}", ALICE, PAYMENT, user=f"u{n}",
                                    approvers=OPERATORS[:1])],
            tid=f"t-{inputs}-{n}",
        )
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
    keys = KeyRing(bytes(Bip39SeedGenerator(MNEMONIC).Generate()))
    shapes = {1: make_templates(1, args.n), 10: make_templates(10, args.n)}
    raw = raw_signature_rate(2.0)
    print(f"raw coincurve signatures: {raw:,.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        policy = load_policy(write_policy(Path(tmp), max_per_day=10**18, max_fee_rate=1000))
        with Journal(Path(tmp) / "journal.jsonl") as journal:
            signer = TemplateSigner(policy, keys, journal)
            for inputs, templates in shapes.items():
                rate = timed(signer.sign, templates)
                print(
                    f"{inputs:>2}-input/2-output: {rate:,.0f} templates/s = "
                    f"{rate / raw:.4f} of the raw signature rate "
                    f"({rate * inputs / raw:.3f} of it per input signature)"
                )
            again = timed(signer.sign, shapes[1])  # journaled already: no append, same bytes
            print(f" 1-input again (no journal write): {again:,.0f}/s = {again / raw:.4f}")


if __name__ == "__main__":
    main()
