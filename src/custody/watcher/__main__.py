"""`python -m custody.watcher`: the watcher's commands without the rest of the `custody` CLI."""

from custody.watcher.cli import watcher_app

watcher_app(prog_name="custody watcher")
