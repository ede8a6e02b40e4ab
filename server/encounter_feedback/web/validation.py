"""How the server refuses a request: always `{"detail": "<a sentence that says what to fix>"}`.

FastAPI checks every body, query and path parameter against its declared type or model and
reports pydantic's errors as a list under 422. Here they become one 400 whose detail names each
field and its problem ("t0 must be >= 0, not -1"), the same shape as every other refusal
(HTTPException's detail); a WebSocket handshake is refused the same way.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request, WebSocket
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from encounter_feedback.web.models import MAX_DEPTH

SENTENCES = {
    "missing": "{name} is missing",
    "extra_forbidden": "{name} is not a field of this request (see /openapi.json)",
    "json_invalid": "the body is not JSON ({error}): send a JSON object",
    "not_json": "the body is not JSON: send a JSON object, with Content-Type: application/json",
    "model_type": "{name} must be a JSON object, not {input}",
    "model_attributes_type": "{name} must be a JSON object, not {input}",
    "dict_type": "{name} must be a JSON object, not {input}",
    "list_type": "{name} must be a list, not {input}",
    "string_type": "{name} must be a string, not {input}",
    "float_type": "{name} must be a number, not {input}",
    "float_parsing": "{name} must be a number, not {input}",
    "int_type": "{name} must be a whole number, not {input}",
    "int_parsing": "{name} must be a whole number, not {input}",
    "int_from_float": "{name} must be a whole number, not {input}",
    "bool_type": "{name} must be true or false, not {input}",
    "bool_parsing": "{name} must be true or false, not {input}",
    "finite_number": "{name} must be a finite number",
    "greater_than_equal": "{name} must be >= {ge}, not {input}",
    "greater_than": "{name} must be > {gt}, not {input}",
    "less_than_equal": "{name} must be <= {le}, not {input}",
    "less_than": "{name} must be < {lt}, not {input}",
    "string_too_short": "{name} is too short: at least {min_length} character(s)",
    "string_too_long": "{name} is too long: at most {max_length} characters",
    "literal_error": "{name} must be one of {expected}, not {input}",
    "enum": "{name} must be one of {expected}, not {input}",
    "value_error": "{error}",  # a model's own check, already a sentence (prefixed by the field if it does not name it)
}
"""pydantic's error types as sentences; others keep pydantic's message after the field's name."""


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One sentence per problem, joined with '; ' (a body can have several)."""
    return "; ".join(dict.fromkeys(_sentence(error) for error in errors))


def _sentence(error: Mapping[str, Any]) -> str:
    name = _field_name(error["loc"])
    kind = "not_json" if isinstance(error.get("input"), bytes) else error["type"]  # no JSON content type: raw bytes
    template = SENTENCES.get(kind)
    if template is None:
        return f"{name}: {error['msg']}"
    context = {key: _plain(value) for key, value in error.get("ctx", {}).items()}
    if "expected" in context:  # "'confirm', 'reject' or 'relabel'" -> "confirm, reject, relabel"
        context["expected"] = context["expected"].replace("'", "").replace(" or ", ", ")
    sentence = template.format(name=name, input=_short(error.get("input")), **context)
    field = str(error["loc"][-1])
    if kind == "value_error" and len(error["loc"]) > 1 and not sentence.startswith(field):
        sentence = f"{name}: {sentence}"
    return sentence


def _field_name(loc: Sequence[str | int]) -> str:
    """('body', 'metadata', 'cohort') -> metadata.cohort; ('body',) -> the body; ('query', 'after') -> ?after."""
    where, *path = loc
    if not path:
        return "the body" if where == "body" else f"the {where}"
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return f"?{name}" if where == "query" else name


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 2, 40, 40


def _short(value: Any, limit: int = 40) -> str:
    """A bounded repr: a 50,000-deep list or a megabyte of text is cut, not walked."""
    text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": describe_errors(exc.errors())}, status_code=400)


async def invalid_handshake(websocket: WebSocket, exc: WebSocketRequestValidationError) -> None:
    await deny(websocket, 400, describe_errors(exc.errors()))


async def deny(websocket: WebSocket, status: int, detail: str) -> None:
    """Refuse a WebSocket handshake with an HTTP status and a JSON reason."""
    await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status))


async def refused(request: Request, exc: StarletteHTTPException) -> Response:
    """HTTP refusals (the routes' own and the framework's) as `{"detail": ...}`; the framework's say
    more: a body too deep to parse says so, a 405 lists every method the path has."""
    headers = dict(exc.headers or {})
    detail = exc.detail
    if isinstance(exc.__cause__, RecursionError):  # FastAPI's JSON parsing gave up
        detail = f"the body is nested too deeply to read: at most {MAX_DEPTH} levels"
    elif exc.status_code == 405:
        allowed = sorted(allowed_methods(request))
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not a method of {request.url.path}: use {', '.join(allowed)}"
    return await http_exception_handler(request, StarletteHTTPException(exc.status_code, detail, headers))


def allowed_methods(request: Request) -> set[str]:
    """The methods the spec lists for the request's path."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))  # /api/encounters/{encounter_id}
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return methods
