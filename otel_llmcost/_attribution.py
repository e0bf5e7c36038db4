"""``otel_llmcost.attribute(...)``: who a call is for, carried in OpenTelemetry baggage.

Baggage lives in the OpenTelemetry context, so attribution follows asyncio tasks, threads (with
the threading instrumentation, which ``otel_llmcost.instrument()`` enables) and outgoing requests
(with the W3C baggage propagator). Every GenAI span started inside carries the values as
``llmcost.team``, ``llmcost.project`` … Note that a propagator sends baggage to every HTTP
peer, provider APIs included: keep the values free of secrets and personal data.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import baggage, context

from otel_llmcost import semconv as sc

__all__ = ["attribute", "current_attribution"]

F = TypeVar("F", bound=Callable[..., Any])
_KEYS = tuple(sc.ATTRIBUTION_KEYS[name] for name in ("team", "project", "user", "feature", "thread", "run"))


class attribute:
    """Attribute the LLM calls made inside to a team, project, user, feature, thread or run.

    Use as a context manager (``with attribute(team="search"):``) or a decorator
    (``@attribute(feature="summarize")``, sync or async). Nested uses add to and override the
    outer values; ``None`` leaves a field as it was.
    """

    def __init__(
        self,
        *,
        team: str | None = None,
        project: str | None = None,
        user: str | None = None,
        feature: str | None = None,
        thread: str | None = None,
        run: str | None = None,
    ) -> None:
        values: dict[str, str] = {}
        for key, value in zip(_KEYS, (team, project, user, feature, thread, run), strict=True):
            if value is not None:
                text = str(value)
                if text:
                    values[key] = text
        self._values = values
        self._tokens: list[object] = []

    def __enter__(self) -> attribute:
        ctx = context.get_current()
        for key, value in self._values.items():
            ctx = baggage.set_baggage(key, value, ctx)
        self._tokens.append(context.attach(ctx))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        context.detach(self._tokens.pop())  # type: ignore[arg-type]

    def __call__(self, func: F) -> F:
        values = self._values

        def fresh() -> attribute:
            # A new instance per invocation: concurrent calls never share context tokens.
            clone = attribute.__new__(attribute)
            clone._values = values
            clone._tokens = []
            return clone

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with fresh():
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with fresh():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def current_attribution() -> dict[str, str]:
    """The attribution in effect here: ``{"team": "search", ...}`` (only the fields that are set)."""
    result = {}
    for name, key in sc.ATTRIBUTION_KEYS.items():
        value = baggage.get_baggage(key)
        if value is not None:
            result[name] = str(value)
    return result
