"""Console routes: log in with an operator token (kept in an HttpOnly cookie), then read pages."""

from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session

from custody.coordinator.auth import Principal, Role, authenticate
from custody.coordinator.console import pages
from custody.coordinator.errors import Unauthenticated
from custody.coordinator.routes.respond import read
from custody.coordinator.runtime import Runtime, RuntimeDep

HERE = Path(__file__).parent
COOKIE = "custody_console"
# The pages load nothing but their own stylesheet; no script may run, whatever a value holds.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)


class Refused(Exception):
    """The console will not open for this token: the status and a message for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def operator(runtime: Runtime, token: str | None) -> Principal:
    """The operator behind `token`, or Refused with a message a person can act on."""
    if not token:
        raise Refused(401, "Log in with your operator API token.")
    try:
        with runtime.sessions() as session:
            principal = authenticate(session, f"Bearer {token}")
    except Unauthenticated as e:
        raise Refused(401, "This token is unknown or revoked.") from e
    if principal.role is not Role.OPERATOR:
        raise Refused(
            403, f"This is a {principal.role.value} token: the console is for operator tokens only."
        )
    return principal


async def form_token(request: Request) -> str | None:
    """The `token` field of the login form (url-encoded), stripped of pasted whitespace."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return (fields.get("token") or [""])[0].strip() or None


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)


def _login(request: Request, refused: Refused | None = None) -> Response:
    message = refused.message if refused else None
    response = _render(
        request, "login.html", {"message": message}, refused.status if refused else 200
    )
    if refused is not None and COOKIE in request.cookies:
        _clear(request, response)
    return response


def _clear(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _page(
    request: Request, runtime: Runtime, name: str, build: Callable[[Session], pages.Context]
) -> Response:
    """Re-authenticate from the cookie on every page, then render what `build` reads."""
    try:
        who = operator(runtime, request.cookies.get(COOKIE))
    except Refused as refused:
        return _login(request, refused)
    context = read(runtime, build)
    context |= {"who": who, "page": name, "human": partial(pages.human_amount, runtime.config)}
    return _render(request, name, context)


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login form."""
    return _login(request)


@router.post("/login")
def login(
    request: Request, runtime: RuntimeDep, token: Annotated[str | None, Depends(form_token)]
) -> Response:
    """Check the pasted token; an operator's goes into an HttpOnly, SameSite=Strict cookie."""
    try:
        operator(runtime, token)
    except Refused as refused:
        return _login(request, refused)
    response = RedirectResponse("/console/", status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        str(token),
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the token: clear the cookie and go back to the login form."""
    response = RedirectResponse("/console/login", status_code=303, headers=HEADERS)
    _clear(request, response)
    return response


@router.get("/")
def overview(request: Request, runtime: RuntimeDep) -> Response:
    """Pool levels, withdrawals by state, alerts."""
    return _page(request, runtime, "overview.html", pages.overview_page)


@router.get("/withdrawals")
def waiting(request: Request, runtime: RuntimeDep) -> Response:
    """Withdrawals waiting for operators, with the commands that approve or reissue them."""
    return _page(request, runtime, "withdrawals.html", pages.withdrawals_page)


@router.get("/templates")
def transaction_templates(request: Request, runtime: RuntimeDep) -> Response:
    """The newest transaction templates."""
    return _page(request, runtime, "templates.html", pages.templates_page)


@router.get("/deposits")
def recent_deposits(request: Request, runtime: RuntimeDep) -> Response:
    """The newest deposits."""
    return _page(request, runtime, "deposits.html", pages.deposits_page)


@router.get("/console.css")
def stylesheet() -> Response:
    """The console's only asset."""
    return Response(_css(), media_type="text/css", headers=HEADERS)


@cache
def _css() -> str:
    return (HERE / "static" / "console.css").read_text(encoding="utf-8")
