"""Stripe's wire format as the sandbox reads and writes it: bracketed form parameters,
integer parameters, and errors as `{"error": {type, code, message, param}}`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from moneyrail.sandbox.state import SandboxError, new_id

Params = dict[str, Any]


def parse_params(raw: bytes | str) -> Params:
    """Stripe's bracketed form encoding to nested dicts and lists."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    root: Params = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = key.partition("[")
        path = [head, *re.findall(r"\[([^\]]*)\]", "[" + rest)] if rest else [head]
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            slot = str(len(node)) if part == "" else part
            if last:
                node[slot] = value
            else:
                node = node.setdefault(slot, {})
    parsed: Params = _listify(root)
    return parsed


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def error(
    status: int, message: str, *, type_: str = "invalid_request_error", **fields: Any
) -> SandboxError:
    body = {
        "error": {
            "type": type_,
            "message": message,
            **{k: v for k, v in fields.items() if v is not None},
        }
    }
    return SandboxError(status, body, {"Request-Id": new_id("req_", 14)})


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it (the sandbox keeps private notes under `_` keys)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def missing(obj: str, obj_id: str) -> SandboxError:
    return error(404, f"No such {obj}: '{obj_id}'", code="resource_missing", param="id")


def _int(params: Params, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise error(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise error(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
        ) from exc
    if number < 1:
        raise error(
            400,
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=name,
        )
    return number
