"""Progress on stdout: one short line per step, with the seconds since the demo started."""

import time

_START = time.monotonic()


def say(tag: str, message: str) -> None:
    """Print one progress line, e.g. `  12.3s [LTC] 4 deposits credited`."""
    print(f"{time.monotonic() - _START:6.1f}s [{tag}] {message}", flush=True)


def elapsed() -> float:
    """Seconds since the demo started."""
    return time.monotonic() - _START
