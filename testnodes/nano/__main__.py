"""`python -m testnodes.nano --port N`: run the Nano test peer until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from testnodes.nano import codec
from testnodes.nano.server import HOST, make_server
from testnodes.nano.state import MAX_SUPPLY, new_state


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m testnodes.nano", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any)")
    parser.add_argument(
        "--confirm-delay", type=float, default=0.0, help="seconds before a block confirms"
    )
    parser.add_argument(
        "--genesis-balance",
        type=codec.decimal_decode,
        default=MAX_SUPPLY,
        help="raw held by the genesis account (default 2^128-1)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = _parse(argv)
    state = new_state(options.genesis_balance, options.confirm_delay)
    server = make_server(options.port, state)

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # The one line a launcher waits for; the port is the real one when --port 0.
    print(f"listening on {HOST}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)  # notice SIGTERM promptly
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
