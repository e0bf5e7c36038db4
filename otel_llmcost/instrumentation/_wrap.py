"""The wrap list: each provider module yields ``WrapSpec(module, "Class.method", factory)``.

Hooks fire when the application imports the SDK module (``wrapt.register_post_import_hook``), so
an app that never imports a provider never pays for it. Every wrap is recorded so uninstrument
can restore the originals exactly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt

from otel_llmcost.instrumentation._telemetry import Telemetry

__all__ = ["WrapSpec", "Wrapper", "Wrapping"]

_logger = logging.getLogger(__name__)

#: wrapper(wrapped, instance, args, kwargs) -> result
Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


@dataclass(frozen=True)
class WrapSpec:
    module: str
    """The module that defines ``name`` (hooked on import)."""
    name: str
    """``Class.method`` (or a module-level function name)."""
    factory: Callable[[Telemetry], Wrapper]


class Wrapping:
    """Installs a wrap list on import and removes it on demand. Thread-safe."""

    def __init__(self, telemetry: Telemetry, specs: Iterable[WrapSpec]) -> None:
        self._telemetry = telemetry
        self._specs = list(specs)
        self._done: list[tuple[Any, str]] = []  # (owner, attribute) we replaced
        self._lock = threading.Lock()
        self._active = False

    def install(self) -> None:
        with self._lock:
            self._active = True
        for module in dict.fromkeys(spec.module for spec in self._specs):
            # Fires now if the module is already imported, else when it is.
            wrapt.register_post_import_hook(self._on_import, module)

    def _on_import(self, module: ModuleType) -> None:
        with self._lock:
            if not self._active:
                return  # a hook registered before uninstrument(); hooks cannot be removed
            for spec in self._specs:
                if spec.module == module.__name__:
                    self._wrap(module, spec)

    def _wrap(self, module: ModuleType, spec: WrapSpec) -> None:
        try:
            # resolve_path reads class attributes from __dict__, so static and class methods
            # are wrapped as the descriptors they are.
            owner, attr, original = wrapt.resolve_path(module, spec.name)
        except AttributeError:
            _logger.debug("otel-llmcost: %s.%s not found; not instrumented", spec.module, spec.name)
            return
        if isinstance(original, wrapt.BaseObjectProxy) and getattr(original, "_self_llmcost", False):
            return  # already ours
        try:
            wrapper = wrapt.FunctionWrapper(original, spec.factory(self._telemetry))
            setattr(wrapper, "_self_llmcost", True)  # noqa: B010 - a wrapt _self_ attribute
            wrapt.apply_patch(owner, attr, wrapper)
        except Exception:
            _logger.debug("otel-llmcost: could not wrap %s.%s", spec.module, spec.name, exc_info=True)
            return
        self._done.append((owner, attr))

    def remove(self) -> None:
        with self._lock:
            self._active = False
            done, self._done = self._done, []
        for owner, attr in reversed(done):
            current = owner.__dict__.get(attr) if hasattr(owner, "__dict__") else getattr(owner, attr, None)
            if isinstance(current, wrapt.BaseObjectProxy) and getattr(current, "_self_llmcost", False):
                setattr(owner, attr, current.__wrapped__)
