"""`custody coordinator …`: migrate the database, serve the API, create API tokens."""

from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from custody.coordinator.app import build_runtime, create_app
from custody.coordinator.auth import Role, create_token
from custody.coordinator.config import ConfigError, load_config
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.migrate import upgrade
from custody.coordinator.settings import CoordinatorSettings

coordinator_app = typer.Typer(
    help="The coordinator: API, database and ledger.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
coordinator_app.add_typer(token_app, name="token")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _settings() -> CoordinatorSettings:
    try:
        return CoordinatorSettings()
    except ValidationError as e:
        first = e.errors()[0]
        _fail(f"setting CUSTODY_{str(first['loc'][0]).upper()}: {first['msg']}")


@coordinator_app.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    settings = _settings()
    try:
        upgrade(settings.database_url)
    except SQLAlchemyError as e:
        _fail(
            f"cannot migrate {settings.database_url}: {e.__class__.__name__}: {e.args[0] if e.args else e}"
        )
    typer.echo("database is up to date")


@coordinator_app.command()
def serve() -> None:
    """Serve the API (migrates first unless CUSTODY_MIGRATE_ON_START=false)."""
    settings = _settings()
    try:
        runtime = build_runtime(settings)
    except ConfigError as e:
        _fail(str(e))
    except SQLAlchemyError as e:
        _fail(f"cannot open the database: {e.__class__.__name__}")
    uvicorn.run(create_app(runtime), host=settings.host, port=settings.port, log_level="warning")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="exchange, watcher, signer or operator")],
    name: Annotated[str, typer.Option(help="who holds it, for the audit log")] = "",
) -> None:
    """Create a token and print it once; only its hash is stored."""
    try:
        parsed = Role(role)
    except ValueError:
        _fail(f"--role must be one of exchange, watcher, signer, operator (got {role!r})")
    settings = _settings()
    try:
        upgrade(settings.database_url)
        sessions = make_sessionmaker(make_engine(settings.database_url))
        with sessions.begin() as session:
            token = create_token(session, parsed, name or parsed.value)
    except SQLAlchemyError as e:
        _fail(f"cannot write the token: {e.__class__.__name__}")
    typer.echo(token)


@coordinator_app.command("check-config")
def check_config() -> None:
    """Validate the config file and list its currencies."""
    settings = _settings()
    try:
        config = load_config(settings.config_file)
    except ConfigError as e:
        _fail(str(e))
    for code, c in config.currencies.items():
        typer.echo(f"{code}: {c.family.value} {c.network}, {c.confirmations} confirmations")
