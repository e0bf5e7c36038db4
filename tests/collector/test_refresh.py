"""PeriodicRefresh: runs at once, again every interval, survives a failing refresh, stops."""

from __future__ import annotations

import logging
import threading

import pytest

from otel_llmcost.collector._refresh import PeriodicRefresh


def test_refreshes_at_once_then_every_interval_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []
    third = threading.Event()

    def refresh() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("ledger busy")
        if len(calls) == 3:
            third.set()

    refresher = PeriodicRefresh(refresh, 0.01, name="test-refresh", what="test")
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.collector._refresh"):
        refresher.start()
        assert refresher.first_refresh.wait(5)
        assert third.wait(5)
        refresher.stop()
    assert calls[:3] == [0, 1, 2]
    failures = [r for r in caplog.records if r.getMessage() == "otel-llmcost: test refresh failed"]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and str(failures[0].exc_info[1]) == "ledger busy"
    assert not any(t.name == "test-refresh" for t in threading.enumerate())


def test_stop_before_start_is_harmless() -> None:
    refresher = PeriodicRefresh(lambda: None, 60.0, name="never-started", what="test")
    refresher.stop()
    assert not refresher.first_refresh.is_set()


def test_stop_interrupts_the_wait() -> None:
    done = threading.Event()
    refresher = PeriodicRefresh(done.set, 3600.0, name="long-wait", what="test")
    refresher.start()
    assert done.wait(5)
    refresher.stop(timeout=5)
    assert not any(t.name == "long-wait" for t in threading.enumerate())
