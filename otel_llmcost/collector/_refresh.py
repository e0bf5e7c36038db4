"""A background refresh on a timer: what the budget and analytics monitors run their ledger
queries on, so that a scrape or an API call never waits for a large ledger."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["PeriodicRefresh"]

_logger = logging.getLogger(__name__)


class PeriodicRefresh:
    """Calls ``refresh`` at once, then every ``seconds`` (from start to start), in a daemon
    thread named ``name``. A failing refresh is logged and tried again at the next tick: the
    values it would have replaced stay as they were."""

    def __init__(self, refresh: Callable[[], object], seconds: float, *, name: str, what: str) -> None:
        self._refresh = refresh
        self._seconds = seconds
        self._name = name
        self._what = what
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.first_refresh = threading.Event()
        """Set once the first refresh has finished (or failed)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._refresh()
            except Exception:
                _logger.warning("otel-llmcost: %s refresh failed", self._what, exc_info=True)
            self.first_refresh.set()
            self._stop.wait(max(0.0, self._seconds - (time.monotonic() - started)))
