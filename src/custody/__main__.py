"""`python -m custody` runs the `custody` command."""

from custody.cli import app

app()
