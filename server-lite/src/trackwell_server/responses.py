"""JSON responses that keep NaN and ±Inf readable (as "NaN", "Infinity", "-Infinity")."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import JSONResponse as _StarletteJSON

_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}

#: ``openapi_extra`` of a route whose body is raw bytes (FastAPI cannot infer it from
#: a handler that reads ``request.stream()``).
BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    }
}


#: Uploaded bytes are anyone's: served so that no browser runs or renders them as part of
#: the dashboard (no type sniffing, a download, and a sandbox should one open it anyway).
RAW_BYTES_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "attachment",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    return repr(obj)


def clean(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its JSON string form."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _NONFINITE[repr(value)]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def dumps(content: Any) -> bytes:
    """Strict JSON: the fast path first; only a body holding NaN/Inf pays for a rewrite."""
    try:
        text = json.dumps(content, allow_nan=False, separators=(",", ":"), default=_default)
    except ValueError:
        text = json.dumps(clean(content), allow_nan=False, separators=(",", ":"), default=_default)
    return text.encode("utf-8")


class JSONResponse(_StarletteJSON):
    def render(self, content: Any) -> bytes:
        return dumps(content)
