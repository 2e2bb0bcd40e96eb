"""Decoding RPC arguments the way json_handler does, with its error texts."""

from __future__ import annotations

from typing import Any

from testnodes.nano import codec, errors
from testnodes.nano.errors import RpcError

Request = dict[str, Any]
UINT64_MAX = 2**64 - 1


def required(request: Request, name: str) -> Any:
    """A required argument; missing is "Unable to parse JSON" (boost's ptree_bad_path)."""
    if name not in request:
        raise RpcError(errors.UNPARSABLE)
    return request[name]


def text(request: Request, name: str) -> str:
    """A required argument as text; ptree stores JSON numbers as text too."""
    value = required(request, name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RpcError(errors.UNPARSABLE)
    return str(value)


def flag(request: Request, name: str, default: bool = False) -> bool:
    """A boolean argument: JSON true/false or "true"/"false"/"1"/"0" (ptree get<bool>)."""
    value = request.get(name, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise RpcError(errors.UNPARSABLE)


def account(request: Request, name: str = "account") -> bytes:
    return account_text(text(request, name))


def account_text(value: object) -> bytes:
    if not isinstance(value, str):
        raise RpcError(errors.UNPARSABLE)
    try:
        return codec.account_decode(value)
    except ValueError as e:
        raise RpcError(errors.BAD_ACCOUNT) from e


def block_hash(request: Request, name: str = "hash") -> bytes:
    """hash_impl: a single hash argument; a bad one is "Invalid block hash"."""
    return hash_text(text(request, name), errors.INVALID_BLOCK_HASH)


def hash_text(value: object, error: str = errors.BAD_HASH_NUMBER) -> bytes:
    if not isinstance(value, str):
        raise RpcError(errors.UNPARSABLE)
    try:
        return codec.hex_decode(value, 32)
    except ValueError as e:
        raise RpcError(error) from e


def string_list(request: Request, name: str) -> list[str]:
    values = required(request, name)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RpcError(errors.UNPARSABLE)
    return values


def unsigned(request: Request, name: str, default: int, error: str) -> int:
    """An optional decimal uint64 (decode_unsigned)."""
    if name not in request:
        return default
    value = text(request, name)
    if not value.isascii() or not value.isdigit() or int(value) > UINT64_MAX:
        raise RpcError(error)
    return int(value)


def count_required(request: Request) -> int:
    """count_impl: required and not zero."""
    required(request, "count")
    count = unsigned(request, "count", 0, errors.INVALID_COUNT)
    if count == 0:
        raise RpcError(errors.INVALID_COUNT)
    return count


def count_optional(request: Request) -> int:
    return unsigned(request, "count", UINT64_MAX, errors.INVALID_COUNT)


def offset_optional(request: Request) -> int:
    return unsigned(request, "offset", 0, errors.INVALID_OFFSET)


def threshold_optional(request: Request) -> int:
    if "threshold" not in request:
        return 0
    try:
        return codec.decimal_decode(text(request, "threshold"))
    except ValueError as e:
        raise RpcError(errors.BAD_THRESHOLD) from e


def hex64_optional(request: Request, name: str, default: int, error: str) -> int:
    """from_string_hex: 1 to 16 hex digits (work, difficulty)."""
    if name not in request:
        return default
    value = text(request, name)
    if not 1 <= len(value) <= 16 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise RpcError(error)
    return int(value, 16)


def tree(value: dict[str, Any] | list[Any]) -> dict[str, Any] | list[Any] | str:
    """An empty child ptree serializes as "" in the node's JSON: `{"blocks": ""}`."""
    return value if value else ""
