"""One loop per currency: rounds of isolated steps; a failing step is logged and retried."""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from custody.watcher.chains.base import ChainWatcher
from custody.watcher.errors import CoordinatorUnavailable, NodeUnavailable, WatcherError

log = logging.getLogger(__name__)


@dataclass
class StepResult:
    """What one step did: a count, or the error that stopped it."""

    name: str
    count: int = 0
    error: str | None = None


@dataclass
class RoundReport:
    """One round of one currency."""

    currency: str
    steps: list[StepResult] = field(default_factory=list)
    # The node or the coordinator could not be reached: the loop backs off.
    unavailable: bool = False

    @property
    def ok(self) -> bool:
        """Every step ran without error."""
        return all(s.error is None for s in self.steps)

    def count(self, name: str) -> int:
        """The count of step `name` (0 if it did not run)."""
        return sum(s.count for s in self.steps if s.name == name)


class CurrencyLoop:
    """Runs a watcher's steps round after round; never lets one step's failure end the loop."""

    def __init__(self, watcher: ChainWatcher, poll_interval: float, max_backoff: float):
        self.watcher = watcher
        self.poll_interval = poll_interval
        self.max_backoff = max(max_backoff, poll_interval)

    def run_once(self) -> RoundReport:
        """One round: prepare, then every step in order, each on its own."""
        report = RoundReport(self.watcher.code)
        prepared = self._step(report, "prepare", self._prepare)
        if prepared:
            for name, step in self.watcher.steps():
                self._step(report, name, step)
        return report

    def _prepare(self) -> int:
        self.watcher.prepare()
        return 0

    def _step(self, report: RoundReport, name: str, step: Callable[[], int]) -> bool:
        result = StepResult(name)
        report.steps.append(result)
        try:
            result.count = step()
        except (NodeUnavailable, CoordinatorUnavailable) as e:
            report.unavailable = True
            result.error = str(e)
            log.warning("%s %s: unavailable: %s", self.watcher.code, name, e)
        except WatcherError as e:
            result.error = str(e)
            log.warning("%s %s failed: %s", self.watcher.code, name, e)
        except Exception as e:  # a bug in one step must not stop the other steps or currencies
            result.error = f"{type(e).__name__}: {e}"
            log.exception("%s %s failed unexpectedly", self.watcher.code, name)
        return result.error is None

    def next_wait(self, failures: int) -> float:
        """Poll interval, doubled for each round in a row that found something down."""
        return min(self.poll_interval * (1 << min(failures, 30)), self.max_backoff)

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set."""
        log.info("%s: watcher loop started", self.watcher.code)
        failures = 0
        while not stop.is_set():
            report = self.run_once()
            failures = failures + 1 if report.unavailable else 0
            wait = self.next_wait(failures)
            if failures:
                log.warning(
                    "%s: node or coordinator down; next round in %.1fs", self.watcher.code, wait
                )
            stop.wait(wait)
        log.info("%s: watcher loop stopped", self.watcher.code)


def run_loops(loops: Sequence[CurrencyLoop], stop: threading.Event) -> None:
    """Each currency in its own thread, so a slow node holds up only its own currency."""
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=f"watch-{loop.watcher.code}")
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    # Joined with a timeout so the main thread stays free to run signal handlers.
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.5)
