"""The otel-llmcost collector: OTLP in, priced ledger rows and Prometheus metrics out.

::

    from otel_llmcost.collector import Collector, load_config

    with Collector(load_config("collector/config.yaml")) as collector:
        print(collector.addresses)  # {"otlp_grpc": ..., "otlp_http": ..., "listen": ...}
        ...

The same as ``otel-llmcost collector --config collector/config.yaml``. Needs the ``collector``
extra (``pip install 'otel-llmcost[collector]'``). The names below are imported on first use, so
importing a submodule (``otel_llmcost.collector._labels``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_llmcost.collector._config import CollectorConfig, load_config
    from otel_llmcost.collector._server import Collector

__all__ = ["Collector", "CollectorConfig", "load_config"]

_LAZY = {
    "Collector": "otel_llmcost.collector._server",
    "CollectorConfig": "otel_llmcost.collector._config",
    "load_config": "otel_llmcost.collector._config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("grpc", "prometheus_client", "psutil", "google"):
            raise ImportError(
                f"the collector needs {exc.name}, which is not installed: pip install 'otel-llmcost[collector]'"
            ) from exc
        raise
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
