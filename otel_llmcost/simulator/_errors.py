"""Each provider's real error JSON shape, for bad requests and injected failures."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ._types import Provider, SimResponse, json_response

# OpenAI: {"error": {"message", "type", "param", "code"}}
_OPENAI: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", None, "Not found."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}

# Anthropic: {"type": "error", "error": {"type", "message"}, "request_id"}
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}

# Gemini (google.rpc.Status): {"error": {"code", "message", "status"}}
_GEMINI: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


class SimBadRequest(Exception):
    """Raised by endpoint handlers for requests the real API would reject."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


def error_body(
    provider: Provider, status: int, message: str | None = None, param: str | None = None
) -> object:
    """The JSON body ``provider`` sends with HTTP ``status``."""
    if provider == "openai":
        etype, code, default = _OPENAI.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error.")
        )
        return {"error": {"message": message or default, "type": etype, "param": param, "code": code}}
    if provider == "anthropic":
        atype, default = _ANTHROPIC.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", "Error.")
        )
        return {"type": "error", "error": {"type": atype, "message": message or default}}
    gstatus, default = _GEMINI.get(status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION", "Error."))
    return {"error": {"code": status, "message": message or default, "status": gstatus}}


def error_response(
    provider: Provider,
    status: int,
    message: str | None = None,
    *,
    param: str | None = None,
    body: object = None,
    retry_after_s: float | None = None,
    request_id: str | None = None,
) -> SimResponse:
    """An error answer: the provider's shape (or ``body`` verbatim), ``retry-after`` on 429."""
    headers: dict[str, str] = {}
    if status == 429:
        headers["retry-after"] = _format_seconds(1.0 if retry_after_s is None else retry_after_s)
    if request_id:
        headers["x-request-id" if provider == "openai" else "request-id"] = request_id
    if isinstance(body, bytes):
        return SimResponse(status=status, headers={"content-type": "application/json", **headers}, body=body)
    payload = body if body is not None else error_body(provider, status, message, param)
    if provider == "anthropic" and body is None and request_id and isinstance(payload, dict):
        payload["request_id"] = request_id
    return json_response(status, payload, headers)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class ErrorInjection:
    """A pending injected failure: answers the next ``times`` matching requests."""

    status: int
    times: int
    provider: Provider | None = None
    path_glob: str | None = None
    body: object = None
    message: str | None = None
    retry_after_s: float | None = None

    def matches(self, provider: Provider, path: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        return self.path_glob is None or fnmatch.fnmatchcase(path, self.path_glob)
