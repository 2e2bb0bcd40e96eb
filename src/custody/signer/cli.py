"""`custody signer`: init the keystore, derive addresses, sign files, run the polling loop."""

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import typer

from custody.signer import filemode, keystore, pool
from custody.signer.derivation import Branch
from custody.signer.errors import Refusal, SettingsError, SignerError
from custody.signer.settings import SignerSettings, load_settings
from custody.signer.signing import open_signer

P = ParamSpec("P")
T = TypeVar("T")

# Tracebacks with local variables could print key material: the signer never shows any.
signer_app = typer.Typer(
    help="The isolated signer: keystore, addresses, the signing loop and air-gapped file mode.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class BranchName(StrEnum):
    """Which branch `addresses` derives."""

    RECEIVE = "receive"
    CHANGE = "change"


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def guarded(fn: Callable[P, T]) -> Callable[P, T]:
    """Every failure is one readable line and exit code 2 (1 for a bug), never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except Refusal as refusal:
            raise _fail(f"refused: {refusal.code}: {refusal.reason}") from None
        except SignerError as e:
            raise _fail(f"error: {e}") from None
        except (typer.Exit, click.exceptions.Exit, KeyboardInterrupt):
            raise
        except click.exceptions.Abort:
            raise _fail("error: aborted") from None
        except Exception as e:  # noqa: BLE001 - last line of defence: no traceback may leak keys
            raise _fail(f"internal error: {type(e).__name__}", 1) from None

    return wrapper


@signer_app.callback()
def main(
    ctx: typer.Context,
    keystore_path: Path | None = typer.Option(None, "--keystore", help="Keystore file."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML file."),
    journal: Path | None = typer.Option(None, "--journal", help="Journal file."),
    coordinator_url: str | None = typer.Option(None, "--coordinator-url", help="Coordinator URL."),
) -> None:
    """Settings come from CUSTODY_SIGNER_* variables; these options override them."""
    ctx.obj = {
        "keystore": keystore_path,
        "policy": policy,
        "journal": journal,
        "coordinator_url": coordinator_url,
    }


def _settings(ctx: typer.Context) -> SignerSettings:
    return load_settings(**(ctx.obj or {}))


def read_passphrase(settings: SignerSettings, *, confirm: bool = False) -> str:
    """From CUSTODY_SIGNER_PASSPHRASE_FILE if set, else a hidden prompt."""
    path = settings.passphrase_file
    if path is None:
        return str(
            typer.prompt("Keystore passphrase", hide_input=True, confirmation_prompt=confirm)
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(f"cannot read passphrase file {path}: {e.strerror}") from e
    passphrase = text.rstrip("\r\n")  # one trailing line end is the editor's, not the secret's
    if not passphrase:
        raise SettingsError(f"passphrase file {path} is empty")
    return passphrase


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Mnemonic to import", hide_input=True))
    return sys.stdin.readline()


@signer_app.command()
@guarded
def init(
    ctx: typer.Context,
    import_: bool = typer.Option(False, "--import", help="Import a mnemonic read from stdin."),
    words: int = typer.Option(24, help="Words of a new mnemonic (12-24)."),
    scrypt_n: int = typer.Option(keystore.DEFAULT_SCRYPT_N, hidden=True),
) -> None:
    """Create the encrypted keystore; a new mnemonic is shown once, for the paper backup."""
    settings = _settings(ctx)
    if settings.keystore.exists():
        raise SettingsError(f"{settings.keystore} exists already; refusing to overwrite it")
    mnemonic = _read_mnemonic() if import_ else keystore.new_mnemonic(words)
    keystore.mnemonic_entropy(mnemonic)  # a bad mnemonic fails before the passphrase prompt
    passphrase = read_passphrase(settings, confirm=True)
    fingerprint = keystore.create(settings.keystore, mnemonic, passphrase, scrypt_n=scrypt_n)
    typer.echo(
        f"keystore: {settings.keystore} (mode 0600, scrypt n={scrypt_n} r={keystore.SCRYPT_R} "
        f"p={keystore.SCRYPT_P}, {keystore.CIPHER})"
    )
    typer.echo(f"master fingerprint: {fingerprint}")
    if not import_:
        typer.echo(
            f"\nWrite down these {len(mnemonic.split())} words in order and keep them offline."
            "\nThey are shown only this once:\n"
        )
        typer.echo(f"  {mnemonic}\n")


@signer_app.command()
@guarded
def addresses(
    ctx: typer.Context,
    currency: str = typer.Argument(..., help="Currency code from the policy, e.g. LTC."),
    count: int = typer.Option(10, min=1, max=100_000),
    start: int = typer.Option(0, min=0),
    branch: BranchName = typer.Option(BranchName.RECEIVE),
    post: bool = typer.Option(False, "--post", help="Post them to the coordinator's pool."),
) -> None:
    """Derive addresses (one JSON line each: address, path, public key) and optionally post them."""
    settings = _settings(ctx)
    token = settings.api_token() if post else None  # fail before any work, not after
    with open_signer(settings, read_passphrase(settings)) as signer:
        policy = signer.policy.currency(currency)
        if policy is None:
            raise SettingsError(f"currency {currency} is not in the policy")
        which = Branch.RECEIVE if branch is BranchName.RECEIVE else Branch.CHANGE
        derived = pool.derive(signer, policy, which, start, count)
    for entry in derived:
        typer.echo(entry.model_dump_json())
    if token is not None:
        from custody.signer.client import CoordinatorClient

        url = settings.coordinator_url
        with CoordinatorClient(url, token, timeout=settings.http_timeout) as client:
            added = pool.post(client, derived)
        typer.echo(f"posted {len(derived)} addresses: {added} new, {len(derived) - added} known")


@signer_app.command("sign-file")
@guarded
def sign_file(
    ctx: typer.Context,
    in_path: Path = typer.Argument(..., metavar="IN.json"),
    out_path: Path = typer.Argument(..., metavar="OUT.json"),
) -> None:
    """Check and sign a template file with no network at all (cold keys)."""
    settings = _settings(ctx)
    template = filemode.read_template(in_path)  # a bad file fails before the passphrase prompt
    with open_signer(settings, read_passphrase(settings)) as signer:
        signed = signer.sign(template)
    filemode.write_signed(out_path, template.id, signed)
    typer.echo(f"signed template {template.id}: txid {signed.txid} -> {out_path}")


@signer_app.command()
@guarded
def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
) -> None:
    """Poll the coordinator, keep the address pool full, check and sign templates."""
    from custody.signer.loop import open_loop

    settings = _settings(ctx)
    configure_logging(settings.log_level)
    passphrase = read_passphrase(settings)
    with open_loop(settings, passphrase) as loop:
        if once:
            report = loop.run_once()
            typer.echo(json.dumps(report.__dict__))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        loop.run(stop)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry)


def configure_logging(level: str) -> None:
    """JSON lines on stderr. Log calls pass ids, codes and txids only: never key material."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
