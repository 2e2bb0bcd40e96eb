"""`custody watcher`: run the loops (one per currency with a node table) or check the config."""

import json
import logging
import signal
import sys
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import typer

from custody.watcher.chains.registry import WATCHED, WATCHERS
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import SettingsError, WatcherError
from custody.watcher.loop import CurrencyLoop, run_loops
from custody.watcher.settings import (
    NodeConfig,
    WatchedCurrency,
    WatcherSettings,
    load_settings,
    load_watched,
)

watcher_app = typer.Typer(
    help="The watcher: imports addresses, finds deposits, builds and broadcasts transactions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _watched(settings: WatcherSettings) -> list[WatchedCurrency]:
    watched = load_watched(settings.config_file, WATCHED)
    if not watched:
        raise SettingsError(f"no currency in {settings.config_file} has a [currencies.node] table")
    return watched


def build_loops(settings: WatcherSettings) -> list[CurrencyLoop]:
    """One loop per watched currency, each with its own connections (one thread each)."""
    token = settings.api_token()
    loops = []
    for watched in _watched(settings):
        client = CoordinatorClient(settings.coordinator_url, token, timeout=settings.http_timeout)
        watcher = WATCHERS[watched.family](watched, client)
        loops.append(CurrencyLoop(watcher, settings.poll_interval, settings.max_backoff))
    return loops


@watcher_app.command()
def run(
    once: bool = typer.Option(False, "--once", help="One round per currency, then exit."),
) -> None:
    """Watch every currency of the config file that has a node table, until SIGTERM/SIGINT."""
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        loops = build_loops(settings)
    except WatcherError as e:
        raise _fail(str(e)) from None
    try:
        if once:
            for loop in loops:
                typer.echo(json.dumps(asdict(loop.run_once())))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run_loops(loops, stop)
    finally:
        for loop in loops:
            loop.watcher.close()


@watcher_app.command("check-config")
def check_config() -> None:
    """Validate the settings and the node tables, and list what would be watched."""
    try:
        settings = load_settings()
        watched = _watched(settings)
    except WatcherError as e:
        raise _fail(str(e)) from None
    for w in watched:
        typer.echo(f"{w.code}: {w.family.value} {w.network} at {w.node.url}{_details(w.node)}")


def _details(node: object) -> str:
    if not isinstance(node, NodeConfig):
        return ""  # another family's node table
    auth = "cookie file" if node.cookie_file else f"user {node.user}"
    return (
        f" ({auth}), wallet {node.wallet}, fee {node.fee_floor}-{node.fee_cap}/vB, "
        f"batch {node.batch_size}"
    )


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str) -> None:
    """JSON lines on stderr (the watcher holds no secrets worth hiding beyond the tokens,
    which are never logged)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
