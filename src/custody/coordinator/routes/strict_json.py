"""Amounts arrive as strings: a JSON number in an amount field is refused before validation.

Once parsed, a JSON integer is a Python int like any other, so the check has to look at the
body itself. A client that sends numbers may already have rounded 2^53+ values in a float.
"""

import json
from typing import Any

from fastapi import Request

from custody.contract.errors import ErrorCode
from custody.coordinator.errors import BadRequest

AMOUNT_KEYS = frozenset({"amount", "fee"})


async def strict_amounts(request: Request) -> None:
    """Refuse a body whose amount fields are JSON numbers (or that holds any float at all)."""
    if request.method not in ("POST", "PUT"):
        return
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return  # FastAPI answers malformed JSON itself
    problem = _find_number(body, "")
    if problem is not None:
        field, code = problem
        raise BadRequest(
            code, f"{field}: amounts are decimal strings of base units, not JSON numbers", field
        )


def _find_number(node: Any, path: str) -> tuple[str, ErrorCode] | None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if (
                key in AMOUNT_KEYS
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                return here, ErrorCode.INVALID_AMOUNT
            found = _find_number(value, here)
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _find_number(value, f"{path}.{i}")
            if found:
                return found
    elif isinstance(node, float):
        return path or "body", ErrorCode.INVALID_REQUEST
    return None
