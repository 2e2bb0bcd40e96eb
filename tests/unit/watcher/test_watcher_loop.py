"""The loop: each step on its own, a failing step never ends the loop, backoff when down."""

import threading
from collections.abc import Callable

import pytest

from custody.contract.currencies import ChainFamily
from custody.watcher.chains.base import Capability, ChainWatcher
from custody.watcher.errors import CoordinatorUnavailable, NodeError, NodeUnavailable
from custody.watcher.loop import CurrencyLoop, run_loops
from custody.watcher.settings import WatchedCurrency

WATCHED = WatchedCurrency.model_validate(
    {
        "code": "LTC",
        "family": "bitcoin",
        "network": "ltc-regtest",
        "node": {"url": "http://n", "user": "u", "password": "p"},
    }
)


class Scripted(ChainWatcher):
    """A watcher whose steps do what the test says."""

    family = ChainFamily.BITCOIN
    capabilities = frozenset({Capability.ADDRESS_IMPORT})

    def __init__(self, behaviour: dict[str, Callable[[], int]]):
        super().__init__(WATCHED, None)  # type: ignore[arg-type]
        self.behaviour = behaviour
        self.ran: list[str] = []

    def _do(self, name: str) -> int:
        self.ran.append(name)
        return self.behaviour.get(name, lambda: 1)()

    def prepare(self) -> None:
        self._do("prepare")

    def import_addresses(self) -> int:
        return self._do("import_addresses")

    def discover_deposits(self) -> int:
        return self._do("discover_deposits")

    def confirm_deposits(self) -> int:
        return self._do("confirm_deposits")

    def build_withdrawals(self) -> int:
        return self._do("build_withdrawals")

    def broadcast(self) -> int:
        return self._do("broadcast")

    def confirm_withdrawals(self) -> int:
        return self._do("confirm_withdrawals")


def _raise(error: BaseException) -> Callable[[], int]:
    def step() -> int:
        raise error

    return step


STEPS = [
    "import_addresses",
    "discover_deposits",
    "confirm_deposits",
    "build_withdrawals",
    "broadcast",
    "confirm_withdrawals",
]


def test_a_failing_step_is_reported_and_the_others_still_run() -> None:
    watcher = Scripted(
        {
            "discover_deposits": _raise(NodeError("listsinceblock", -1, "boom")),
            "broadcast": _raise(KeyError("a bug")),
        }
    )
    report = CurrencyLoop(watcher, 1, 10).run_once()
    assert watcher.ran == ["prepare", *STEPS]
    errors = {s.name: s.error for s in report.steps if s.error}
    assert set(errors) == {"discover_deposits", "broadcast"}
    assert "node error -1: boom" in (errors["discover_deposits"] or "")
    assert "KeyError" in (errors["broadcast"] or "")
    assert not report.ok and not report.unavailable
    assert report.count("confirm_withdrawals") == 1


def test_nothing_runs_when_prepare_fails() -> None:
    watcher = Scripted({"prepare": _raise(CoordinatorUnavailable("down"))})
    report = CurrencyLoop(watcher, 1, 10).run_once()
    assert watcher.ran == ["prepare"]
    assert report.unavailable


def test_a_kill_is_not_caught() -> None:
    class Kill(BaseException):
        pass

    watcher = Scripted({"build_withdrawals": _raise(Kill())})
    with pytest.raises(Kill):
        CurrencyLoop(watcher, 1, 10).run_once()


def test_the_wait_doubles_while_something_is_down_and_is_capped() -> None:
    loop = CurrencyLoop(Scripted({}), poll_interval=2, max_backoff=30)
    assert [loop.next_wait(n) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    assert loop.next_wait(10_000) == 30


def test_the_loop_runs_until_stopped_through_a_node_outage() -> None:
    rounds: list[int] = []
    stop = threading.Event()

    def discover() -> int:
        rounds.append(1)
        if len(rounds) >= 4:
            stop.set()
        if len(rounds) < 3:
            raise NodeUnavailable("node down")
        return 0

    loop = CurrencyLoop(Scripted({"discover_deposits": discover}), 0.001, 0.004)
    run_loops([loop], stop)
    assert len(rounds) == 4
