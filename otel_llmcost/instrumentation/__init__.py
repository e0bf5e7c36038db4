"""Zero-code GenAI cost instrumentation for OpenAI, Anthropic, Google GenAI and raw httpx calls.

``opentelemetry-instrument python app.py`` finds :class:`LLMCostInstrumentor` through the
``opentelemetry_instrumentor`` entry point. For manual setup::

    import otel_llmcost
    otel_llmcost.instrument()          # or LLMCostInstrumentor().instrument(tracer_provider=...)

Provider SDKs are hooked when the application imports them, never before.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.instrumentation.dependencies import DependencyConflict
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from packaging.requirements import Requirement

from otel_llmcost.instrumentation._settings import Settings
from otel_llmcost.instrumentation._telemetry import Guard, Telemetry
from otel_llmcost.instrumentation._wrap import Wrapping, WrapSpec
from otel_llmcost.instrumentation.package import _instruments, _instruments_any

__all__ = ["LLMCostInstrumentor"]

_logger = logging.getLogger(__name__)


def _wrap_specs() -> Iterator[WrapSpec]:
    # Provider modules import nothing of their SDK at module level; importing them is cheap.
    from otel_llmcost.instrumentation import _threads, raw_http
    from otel_llmcost.instrumentation.anthropic import wrap_specs as anthropic_specs
    from otel_llmcost.instrumentation.google_genai import wrap_specs as genai_specs
    from otel_llmcost.instrumentation.openai import wrap_specs as openai_specs

    yield from openai_specs()
    yield from anthropic_specs()
    yield from genai_specs()
    yield from raw_http.wrap_specs()
    yield from _threads.wrap_specs()


class LLMCostInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every supported provider SDK that the application imports.

    ``instrument()`` keyword arguments (all optional): ``tracer_provider``, ``meter_provider``,
    ``capture_content``, ``include_usage``, ``fingerprint_key``, ``provider_map``, ``pricer``
    (an :class:`otel_llmcost.Pricer`), ``guard`` (a budget guard; default from
    ``OTEL_LLMCOST_BUDGETS``).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        # Any one supported SDK suffices (the "instruments-any" extra).
        for spec in _instruments_any:
            req = Requirement(spec)
            try:
                if req.specifier.contains(version(req.name), prereleases=True):
                    return None
            except PackageNotFoundError:
                continue
        return DependencyConflict(None, required_any=list(_instruments_any), found_any=[])

    def _instrument(self, **kwargs: Any) -> None:
        settings = Settings.from_env(
            capture_content=kwargs.get("capture_content"),
            include_usage=kwargs.get("include_usage"),
            fingerprint_key=kwargs.get("fingerprint_key"),
            provider_map=kwargs.get("provider_map"),
        )
        guard: Guard | None = kwargs.get("guard")
        if guard is None and "guard" not in kwargs:
            guard = _guard_from_env()
        self._telemetry = Telemetry(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            settings=settings,
            pricer=kwargs.get("pricer"),
            guard=guard,
        )
        self._wrapping: Wrapping | None = Wrapping(self._telemetry, _wrap_specs())
        self._wrapping.install()

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapping: Wrapping | None = getattr(self, "_wrapping", None)
        if wrapping is not None:
            wrapping.remove()
        self._wrapping = None

    @property
    def telemetry(self) -> Telemetry | None:
        return getattr(self, "_telemetry", None)


def _guard_from_env() -> Guard | None:
    try:
        budgets = importlib.import_module("otel_llmcost.budgets")
    except ImportError:
        return None
    try:
        guard: Guard | None = budgets.guard_from_env()
        return guard
    except Exception as err:
        # Never break the host app: a bad policy file is loud in the log, and calls proceed.
        _logger.error("otel-llmcost: budgets disabled: %s", err)
        return None
