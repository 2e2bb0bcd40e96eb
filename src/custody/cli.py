"""The `custody` command: one entry point for the coordinator, the watcher and the signer."""

import typer

from custody.coordinator.cli import coordinator_app

app = typer.Typer(help="Custody stack for exchanges.", no_args_is_help=True)
app.add_typer(coordinator_app, name="coordinator")
