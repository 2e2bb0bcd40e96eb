"""The demo's world: config and policy files, API tokens, keystore and the three processes."""

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from custody.coordinator.auth import Role, create_token
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.migrate import upgrade
from custody.signer import keystore
from demo.api import Api, Keys
from demo.processes import DemoError, Process, python, run_once, wait_for
from demo.progress import say
from tests.support.litecoind import free_port

PASSPHRASE = "custody demo passphrase"  # noqa: S105 - the demo keystore's, guards nothing
POLL = "0.2"  # seconds between the signer's passes and the watcher's rounds


@dataclass(frozen=True)
class Summary:
    """What the final JSON line says about one currency."""

    deposits_credited: int
    withdrawals_confirmed: int
    double_payments: int
    ledger_matches_chain: bool

    @property
    def ok(self) -> bool:
        """Every check holds."""
        return self.double_payments == 0 and self.ledger_matches_chain


class Chain(Protocol):
    """One chain family of the demo: its node, its config and policy sections, its story."""

    codes: tuple[str, ...]

    def start(self, stack: ExitStack, workdir: Path) -> None:
        """Start the node (stopped by `stack`)."""

    def config(self, workdir: Path) -> str:
        """The coordinator's `[[currencies]]` entries, with the watcher's node tables."""

    def policy(self, operators: list[str]) -> str:
        """The signer policy's `[currencies.X]` sections."""

    def run(self, world: "World") -> None:
        """The scenario: deposits, sweeps, withdrawals, with progress lines."""

    def summary(self, world: "World") -> dict[str, Summary]:
        """The checks, from the coordinator's API and the node."""


@dataclass
class World:
    """The running stack: where its files are, the API, and the three processes."""

    workdir: Path
    api: Api
    processes: list[Process] = field(default_factory=list)

    def alive(self) -> None:
        """DemoError if any of the three processes has died."""
        for process in self.processes:
            process.check_alive()

    def wait(self, what: str, done: Callable[[], bool], timeout: float = 60.0,
             tick: Callable[[], None] | None = None, interval: float = 0.2) -> None:
        """Wait for `done`, mining (`tick`) as needed, watching the processes."""
        wait_for(what, done, timeout, tick, interval, self.alive)

    def deposit_addresses(self, currency: str, users: list[str]) -> dict[str, str]:
        """Each user's deposit address, once the signer has filled the pool."""
        found: dict[str, str] = {}

        def everyone() -> bool:
            for user in users:
                if user not in found:
                    address = self.api.deposit_address(user, currency)
                    if address is None:
                        return False
                    found[user] = address
            return True

        self.wait(f"{currency} deposit addresses from the pool", everyone)
        say(currency, f"{len(users)} users got deposit addresses from the signer-filled pool")
        return found

    def hot(self, currency: str) -> str:
        """The currency's hot wallet (account), once the signer has posted it."""
        found: list[str] = []

        def posted() -> bool:
            found[:] = [a["address"] for a in self.api.pool(currency) if a["branch"] == "hot"]
            return len(found) == 1

        self.wait(f"the {currency} hot wallet in the pool", posted)
        return found[0]


def start_world(stack: ExitStack, workdir: Path, chains: list[Chain]) -> World:
    """Write the files, make the tokens and the keystore, start the three processes."""
    keys = Keys()
    config = write_private(workdir / "custody.toml", _config(keys, chains, workdir))
    policy = write_private(workdir / "signer-policy.toml", _policy(keys, chains))
    database = f"sqlite:///{workdir / 'custody.sqlite3'}"
    tokens = _tokens(database)
    token_files = {role: write_private(workdir / f"{role}.token", token)
                   for role, token in tokens.items()}
    say("setup", "fresh keys: exchange Ed25519 key, 3 operator keys; 4 API tokens (one per role)")
    base = f"http://127.0.0.1:{free_port()}"
    api = Api(base, tokens, keys)
    stack.callback(api.close)
    world = World(workdir, api)
    env = _base_env()
    coordinator = _coordinator(env, workdir, database, config, base).start(stack)
    world.processes.append(coordinator)
    signer_env = _signer_env(env, workdir, policy, base, token_files["signer"])
    _init_keystore(signer_env, workdir)  # while the coordinator starts
    wait_for("the coordinator's /health", api.healthy, 60, alive=coordinator.check_alive)
    say("setup", f"coordinator serving {base} on SQLite (pid {coordinator.pid})")
    signer = Process("signer", python("custody", "signer", "run"), signer_env,
                     workdir / "signer.log").start(stack)
    world.processes.append(signer)
    say("setup", f"signer polling the coordinator, no port open (pid {signer.pid})")
    watcher = Process("watcher", python("custody.watcher", "run"),
                      _watcher_env(env, config, base, token_files["watcher"]),
                      workdir / "watcher.log").start(stack)
    world.processes.append(watcher)
    codes = ", ".join(code for chain in chains for code in chain.codes)
    say("setup", f"watcher running one loop per currency: {codes} (pid {watcher.pid})")
    return world


def _coordinator(env: dict[str, str], workdir: Path, database: str, config: Path,
                 base: str) -> Process:
    """`custody coordinator serve` on the SQLite file (it migrates it first)."""
    settings = {"CUSTODY_DATABASE_URL": database, "CUSTODY_CONFIG_FILE": str(config),
                "CUSTODY_PORT": base.rsplit(":", 1)[1]}
    return Process("coordinator", python("custody", "coordinator", "serve"),
                   {**env, **settings}, workdir / "coordinator.log")


def write_private(path: Path, text: str) -> Path:
    """A file only its owner may read (tokens, passwords, config)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _config(keys: Keys, chains: list[Chain], workdir: Path) -> str:
    operators = "\n".join(
        f'[[operators]]\nname = "operator-{i}"\npublic_key = "{key}"\n'
        for i, key in enumerate(keys.operator_publics)
    )
    head = f'exchange_public_key = "{keys.exchange_public}"\n\n{operators}\n'
    return head + "\n".join(chain.config(workdir) for chain in chains)


def _policy(keys: Keys, chains: list[Chain]) -> str:
    head = f'exchange_key = "{keys.exchange_public}"\n\n'
    return head + "\n".join(chain.policy(keys.operator_publics) for chain in chains)


def _tokens(database: str) -> dict[str, str]:
    """One token per role, written into the fresh database (as `custody coordinator token
    create` does, without one process start per role); printed nowhere."""
    upgrade(database)
    engine = make_engine(database)
    try:
        with make_sessionmaker(engine).begin() as session:
            return {role.value: create_token(session, role, f"demo-{role.value}") for role in Role}
    finally:
        engine.dispose()


def _base_env() -> dict[str, str]:
    """The demo's environment without any CUSTODY_ setting of the caller's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}


def _signer_env(env: dict[str, str], workdir: Path, policy: Path, base: str,
                token: Path) -> dict[str, str]:
    return {
        **env,
        "CUSTODY_SIGNER_KEYSTORE": str(workdir / "signer" / "keystore.json"),
        "CUSTODY_SIGNER_POLICY": str(policy),
        "CUSTODY_SIGNER_JOURNAL": str(workdir / "signer" / "journal.jsonl"),
        "CUSTODY_SIGNER_PASSPHRASE_FILE": str(write_private(workdir / "passphrase", PASSPHRASE)),
        "CUSTODY_SIGNER_COORDINATOR_URL": base,
        "CUSTODY_SIGNER_TOKEN_FILE": str(token),
        "CUSTODY_SIGNER_POLL_INTERVAL": POLL,
        "CUSTODY_SIGNER_TEMPLATE_BATCH": "50",
        "CUSTODY_SIGNER_POOL_TARGET": "8",
        "CUSTODY_SIGNER_CHANGE_POOL_TARGET": "4",
    }


def _watcher_env(env: dict[str, str], config: Path, base: str, token: Path) -> dict[str, str]:
    return {
        **env,
        "CUSTODY_WATCHER_COORDINATOR_URL": base,
        "CUSTODY_WATCHER_TOKEN_FILE": str(token),
        "CUSTODY_WATCHER_CONFIG_FILE": str(config),
        "CUSTODY_WATCHER_POLL_INTERVAL": POLL,
        "CUSTODY_WATCHER_MAX_BACKOFF": "1",
    }


def _init_keystore(env: dict[str, str], workdir: Path) -> None:
    """`custody signer init --import` with a mnemonic made here and piped on stdin: it is never
    printed, never written in clear, and gone with this process."""
    (workdir / "signer").mkdir(mode=0o700)
    mnemonic = keystore.new_mnemonic(24)
    log = workdir / "signer-init.log"
    run_once("signer init", python("custody", "signer", "init", "--import"), env, log,
             stdin=(mnemonic + "\n").encode())
    fingerprint = next((line.split(":", 1)[1].strip() for line in log.read_text().splitlines()
                        if line.startswith("master fingerprint:")), "?")
    if not Path(env["CUSTODY_SIGNER_KEYSTORE"]).exists():
        raise DemoError("signer init wrote no keystore")
    say("setup", f"signer keystore created from a fresh seed (fingerprint {fingerprint})")
