"""`python -m demo [--keep] [--only CUR]`: the whole custody job end to end, then one JSON line."""

import argparse
import json
import shutil
import signal
import sys
import tempfile
import traceback
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import httpx

from demo.ethereum import EthereumChain
from demo.ltc import LitecoinChain
from demo.nano import NanoChain
from demo.processes import DemoError, show_logs
from demo.progress import elapsed, say
from demo.world import Chain, Summary, World, start_world
from tests.support.anvil import RpcError as AnvilRpcError
from tests.support.litecoind import RpcError as LitecoinRpcError

CODES = ("LTC", "ETH", "TKN", "XNO")
# What a failed step raises: ours, the coordinator's HTTP client's, the nodes' RPC errors.
FAILURES = (DemoError, httpx.HTTPError, LitecoinRpcError, AnvilRpcError, OSError, KeyError)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """--keep, --only."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--keep", action="store_true",
                        help="keep the runtime directory (config, logs, database, keystore)")
    parser.add_argument("--only", action="append", choices=CODES, metavar="CUR",
                        help=f"run only this currency (repeatable; one of {', '.join(CODES)})")
    return parser.parse_args(argv)


def chains_for(codes: list[str]) -> list[Chain]:
    """The chain families that serve the chosen currencies, in demo order."""
    chains: list[Chain] = []
    if "LTC" in codes:
        chains.append(LitecoinChain())
    ethereum = tuple(c for c in ("ETH", "TKN") if c in codes)
    if ethereum:
        chains.append(EthereumChain(ethereum))
    if "XNO" in codes:
        chains.append(NanoChain())
    return chains


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop everything, in order, and leave."""


class Signals:
    """SIGINT/SIGTERM interrupt the demo once; while it stops its children (after a signal, a
    failure or the end) further signals are only noted, so the cleanup is never cut short."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on."""
        signal.signal(signal.SIGINT, self.handler)
        signal.signal(signal.SIGTERM, self.handler)

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """Raise Interrupted the first time, outside the cleanup."""
        if self.stopping:
            say("stop", "still stopping the children; please wait")
            return
        self.stopping = True
        raise Interrupted(signal.Signals(signum).name)


def summarize(chains: list[Chain], world: World | None) -> dict[str, object]:
    """Each currency's summary from the API and the nodes; an error entry where that failed."""
    out: dict[str, object] = {}
    for chain in chains:
        if world is None:
            out.update({code: {"error": "the stack did not start"} for code in chain.codes})
            continue
        try:
            out.update(chain.summary(world))
        except FAILURES as e:
            out.update({code: {"error": f"{type(e).__name__}: {e}"} for code in chain.codes})
    return out


def run(chains: list[Chain], workdir: Path, signals: Signals) -> dict[str, object]:
    """Nodes, the three processes, every scenario and the checks; stops all it started."""
    world: World | None = None
    with ExitStack() as stack:
        try:
            for chain in chains:
                chain.start(stack, workdir)
            world = start_world(stack, workdir, chains)
            for chain in chains:
                chain.run(world)
            results = summarize(chains, world)
        except FAILURES as e:
            error = str(e) if isinstance(e, DemoError) else f"{type(e).__name__}: {e}"
            say("error", error)
            show_logs(workdir)
            results = {**summarize(chains, world), "error": error}
        finally:
            signals.stopping = True  # from here on, nothing interrupts the cleanup
        say("stop", "stopping the watcher, signer, coordinator and the nodes")
    say("stop", "all stopped")
    return results


def passed(results: dict[str, object]) -> bool:
    """Every currency summarized and every check true."""
    return "error" not in results and all(
        isinstance(s, Summary) and s.ok for s in results.values())


def as_json(results: dict[str, object]) -> str:
    """The final line: currencies (and an error, if any) as one JSON object."""
    return json.dumps({k: v.__dict__ if isinstance(v, Summary) else v
                       for k, v in results.items()})


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every check holds, 1 when one fails, 130 when interrupted."""
    options = parse(argv)
    signals = Signals()
    signals.install()
    codes = options.only or list(CODES)
    workdir = Path(tempfile.mkdtemp(prefix="custody-demo-"))
    say("setup", f"demo of {', '.join(codes)}; runtime files in {workdir}")
    try:
        results = run(chains_for(codes), workdir, signals)
    except Interrupted as e:
        say("stop", f"interrupted ({e}); every process the demo started is stopped")
        return 130
    except Exception:  # noqa: BLE001 - a bug in the demo: show where, after the cleanup ran
        traceback.print_exc()
        show_logs(workdir)
        return 1
    finally:
        if options.keep:
            say("stop", f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = passed(results)
    say("done", f"{'all checks passed' if ok else 'FAILED'} in {elapsed():.0f}s")
    print(as_json(results), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
