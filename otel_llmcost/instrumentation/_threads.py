"""Carry the OpenTelemetry context (trace, baggage attribution) into new threads and pool tasks.

Python threads start with an empty ``contextvars`` context; without this, a call made from a
``ThreadPoolExecutor`` would lose its ``otel_llmcost.attribute(...)`` values. This does what
opentelemetry-instrumentation-threading does, which cannot be installed beside current pins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from opentelemetry import context

from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec


def _thread_start(telemetry: Telemetry) -> Wrapper:
    def start(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        instance._llmcost_context = context.get_current()
        return wrapped(*args, **kwargs)

    return start


def _thread_bootstrap(telemetry: Telemetry) -> Wrapper:
    """Around ``Thread._bootstrap_inner``, which calls ``self.run()`` in the new thread: a
    subclass that overrides ``run`` (``threading.Timer`` does) gets the context too."""

    def run(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ctx = getattr(instance, "_llmcost_context", None)
        if ctx is None:
            return wrapped(*args, **kwargs)
        token = context.attach(ctx)
        try:
            return wrapped(*args, **kwargs)
        finally:
            context.detach(token)

    return run


def _pool_submit(telemetry: Telemetry) -> Wrapper:
    def submit(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not args:
            return wrapped(*args, **kwargs)
        fn, rest = args[0], args[1:]
        ctx = context.get_current()

        def in_context(*a: Any, **kw: Any) -> Any:
            token = context.attach(ctx)
            try:
                return fn(*a, **kw)
            finally:
                context.detach(token)

        return wrapped(in_context, *rest, **kwargs)

    return submit


def wrap_specs() -> Iterator[WrapSpec]:
    yield WrapSpec("threading", "Thread.start", _thread_start)
    # CPython's private entry point of every thread (3.8 to 3.14); Thread.run where it is absent.
    entry = "_bootstrap_inner" if hasattr(threading.Thread, "_bootstrap_inner") else "run"
    yield WrapSpec("threading", f"Thread.{entry}", _thread_bootstrap)
    yield WrapSpec("concurrent.futures.thread", "ThreadPoolExecutor.submit", _pool_submit)
