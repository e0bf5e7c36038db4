"""The security suite reuses the collector fixtures (a started collector on free ports)."""

from __future__ import annotations

from tests.collector.conftest import shared_pricer, sqlite_url, start_collector

__all__ = ["shared_pricer", "sqlite_url", "start_collector"]
