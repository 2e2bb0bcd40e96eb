"""`custody operator …`: make a key, see what waits for operators, approve and reissue."""

from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from custody.contract.intent import approval_bytes, public_key_hex, reissue_bytes, sign
from custody.contract.withdrawals import Withdrawal
from custody.operator import keys

operator_app = typer.Typer(help="Operator tools: key, approvals, reissues.", no_args_is_help=True)


class OperatorSettings(BaseSettings):
    """Where the coordinator is, the operator's token and key (CUSTODY_OPERATOR_*)."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_OPERATOR_", extra="ignore")

    coordinator_url: str = "http://127.0.0.1:8700"
    token_file: Path | None = None
    token: str | None = None
    key_file: Path = Path("operator.pem")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _settings() -> OperatorSettings:
    try:
        return OperatorSettings()
    except ValidationError as e:
        _fail(f"setting CUSTODY_OPERATOR_{str(e.errors()[0]['loc'][0]).upper()}: invalid")


def _client(settings: OperatorSettings) -> httpx.Client:
    token = settings.token
    if token is None and settings.token_file is not None:
        try:
            token = settings.token_file.read_text().strip()
        except OSError as e:
            _fail(f"cannot read token file {settings.token_file}: {e.strerror}")
    if not token:
        _fail("no token: set CUSTODY_OPERATOR_TOKEN_FILE (or CUSTODY_OPERATOR_TOKEN)")
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=settings.coordinator_url, headers=headers, timeout=30)


def _call(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    try:
        answer = client.request(method, path, json=body)
    except httpx.HTTPError as e:
        _fail(f"coordinator unreachable at {client.base_url}: {e.__class__.__name__}")
    if answer.status_code != 200:
        try:
            error = answer.json()["error"]
            _fail(f"{error['code']}: {error['message']}")
        except (ValueError, KeyError, TypeError):
            _fail(f"coordinator answered HTTP {answer.status_code}")
    return answer.json()


def _key(settings: OperatorSettings) -> Ed25519PrivateKey:
    try:
        return keys.load(settings.key_file)
    except keys.KeyFileError as e:
        _fail(str(e))


def _show(w: Withdrawal) -> str:
    i = w.intent
    return f"{w.id} {w.state}: {i.amount} base units of {i.currency} to {i.destination} (user {i.user_id}, request {i.request_id})"


@operator_app.command()
def keygen(out: Annotated[Path, typer.Option(help="where to write the key (0600)")]) -> None:
    """Make a new Ed25519 key; prints its public key for the coordinator config and the policy."""
    try:
        key = keys.create(out)
    except keys.KeyFileError as e:
        _fail(str(e))
    typer.echo(public_key_hex(key))


@operator_app.command()
def pending() -> None:
    """Withdrawals waiting for operators: approvals and reissues."""
    settings = _settings()
    with _client(settings) as client:
        for state in ("requested", "awaiting_reissue"):
            for raw in _call(client, "GET", f"/v1/withdrawals?state={state}&limit=1000"):
                typer.echo(_show(Withdrawal.model_validate(raw)))


@operator_app.command()
def approve(withdrawal_id: str) -> None:
    """Sign an approval of the withdrawal's intent and post it."""
    settings = _settings()
    key = _key(settings)
    with _client(settings) as client:
        w = Withdrawal.model_validate(_call(client, "GET", f"/v1/withdrawals/{withdrawal_id}"))
        body = {
            "operator_key": public_key_hex(key),
            "signature": sign(key, approval_bytes(w.intent)),
        }
        after = Withdrawal.model_validate(
            _call(client, "POST", f"/v1/withdrawals/{withdrawal_id}/approvals", body)
        )
    typer.echo(_show(after))


@operator_app.command()
def reissue(withdrawal_id: str, txid: str) -> None:
    """Sign that transaction TXID of the withdrawal is dead (check the chain first!) and post it."""
    settings = _settings()
    key = _key(settings)
    with _client(settings) as client:
        w = Withdrawal.model_validate(_call(client, "GET", f"/v1/withdrawals/{withdrawal_id}"))
        body = {
            "txid": txid,
            "operator_key": public_key_hex(key),
            "signature": sign(key, reissue_bytes(w.intent, txid)),
        }
        after = Withdrawal.model_validate(
            _call(client, "POST", f"/v1/withdrawals/{withdrawal_id}/reissues", body)
        )
    typer.echo(_show(after))
