"""Child processes of the demo: each in its own process group, output to a log file."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

TAIL_LINES = 40
ROOT = Path(__file__).resolve().parents[1]  # the repository: `tests`, `testnodes` import


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def python(*args: str) -> list[str]:
    """`python -m …` with the interpreter running the demo (the project's venv)."""
    return [sys.executable, "-m", *args]


@dataclass
class Process:
    """One child process in its own session, so a Ctrl-C on the terminal reaches only the
    demo, which then stops its children in order (watcher and signer before the coordinator)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, stack: ExitStack) -> "Process":
        """Start it; `stack` stops it (the stop is registered before the start)."""
        stack.callback(self.stop)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        """The process id (its process group id too)."""
        assert self.popen is not None
        return self.popen.pid

    def check_alive(self) -> None:
        """DemoError if the process has exited."""
        if self.popen is not None and self.popen.poll() is not None:
            raise DemoError(f"{self.name} exited with code {self.popen.returncode}")

    def wait_for_line(self, prefix: str, timeout: float = 30.0) -> str:
        """The first line of the log that starts with `prefix`, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            self.check_alive()
            time.sleep(0.05)
        raise DemoError(f"{self.name} did not print {prefix!r} within {timeout:.0f}s")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the whole group, SIGKILL if it is still there after `timeout`."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        _signal_group(self.popen.pid, signal.SIGKILL)  # anything it left behind in its group


def show_logs(directory: Path) -> None:
    """The last lines of every log the demo's children wrote there."""
    for log in sorted(directory.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        print(f"----- {log.name} (last {TAIL_LINES} lines) -----", *lines, sep="\n", flush=True)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def run_once(name: str, args: list[str], env: dict[str, str], log: Path,
             stdin: bytes = b"", timeout: float = 120.0) -> None:
    """Run a short command to completion, output to `log`; DemoError if it fails."""
    with log.open("ab") as out:
        try:
            done = subprocess.run(args, env=env, cwd=ROOT, input=stdin, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False,
                                  start_new_session=True)
        except subprocess.TimeoutExpired as e:
            raise DemoError(f"{name} took longer than {timeout:.0f}s") from e
    if done.returncode != 0:
        raise DemoError(f"{name} failed with exit code {done.returncode} (see {log})")


def wait_for(what: str, done: Callable[[], bool], timeout: float,
             tick: Callable[[], None] | None = None, interval: float = 0.2,
             alive: Callable[[], None] | None = None) -> None:
    """Poll `done` until it holds; `tick` runs between polls (mine a block: the world goes on),
    `alive` checks the children. DemoError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
        if alive is not None:
            alive()
        if tick is not None:
            tick()
        time.sleep(interval)
