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
from collections.abc import AsyncGenerator, Callable, Generator
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
    (``@attribute(feature="summarize")``: sync or async functions, and generators — sync or
    async — whose body runs attributed each time it is resumed). Nested uses add to and override the
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
        self._tokens.append(_attach(self._values))
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

        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                return (yield from _attributed(func(*args, **kwargs), values))

            return generator_wrapper  # type: ignore[return-value]

        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            def async_generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                return _attributed_async(func(*args, **kwargs), values)

            return async_generator_wrapper  # type: ignore[return-value]

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


def _attach(values: dict[str, str]) -> object:
    ctx = context.get_current()
    for key, value in values.items():
        ctx = baggage.set_baggage(key, value, ctx)
    return context.attach(ctx)


def _step(values: dict[str, str], method: Callable[[Any], Any], arg: Any) -> Any:
    """``method(arg)`` (a generator's send, throw or close) with the attribution attached."""
    token = _attach(values)
    try:
        return method(arg)
    finally:
        context.detach(token)  # type: ignore[arg-type]


def _attributed(generator: Generator[Any, Any, Any], values: dict[str, str]) -> Generator[Any, Any, Any]:
    """Run ``generator``'s body with the attribution, one step at a time: the caller's code
    between two items never sees it (a ``with`` around the ``yield`` would leak it there)."""
    method: Callable[[Any], Any] = generator.send
    arg: Any = None
    while True:
        try:
            item = _step(values, method, arg)
        except StopIteration as stop:
            return stop.value
        try:
            arg = yield item
            method = generator.send
        except GeneratorExit:
            _step(values, lambda _: generator.close(), None)
            raise
        except BaseException as exc:  # thrown in by the caller: into the body, attributed
            method, arg = generator.throw, exc


async def _attributed_async(
    generator: AsyncGenerator[Any, Any], values: dict[str, str]
) -> AsyncGenerator[Any, Any]:
    """:func:`_attributed` for async generators (each step attributed within the caller's task)."""
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        token = _attach(values)
        try:
            item = await (generator.athrow(thrown) if thrown is not None else generator.asend(sent))
        except StopAsyncIteration:
            return
        finally:
            context.detach(token)  # type: ignore[arg-type]
        thrown = None
        try:
            sent = yield item
        except GeneratorExit:
            token = _attach(values)
            try:
                await generator.aclose()
            finally:
                context.detach(token)  # type: ignore[arg-type]
            raise
        except BaseException as exc:
            thrown = exc


def current_attribution() -> dict[str, str]:
    """The attribution in effect here: ``{"team": "search", ...}`` (only the fields that are set)."""
    result = {}
    for name, key in sc.ATTRIBUTION_KEYS.items():
        value = baggage.get_baggage(key)
        if value is not None:
            result[name] = str(value)
    return result
