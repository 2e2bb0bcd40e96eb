"""The `custody` command: one entry point for the coordinator, the watcher and the signer."""

import typer

from custody.coordinator.cli import coordinator_app
from custody.operator.cli import operator_app
from custody.signer.cli import signer_app
from custody.watcher.cli import watcher_app

# No pretty tracebacks: they print local variables, which in the signer could be key material.
app = typer.Typer(
    help="Custody stack for exchanges.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(coordinator_app, name="coordinator")
app.add_typer(signer_app, name="signer")
app.add_typer(watcher_app, name="watcher")
app.add_typer(operator_app, name="operator")
