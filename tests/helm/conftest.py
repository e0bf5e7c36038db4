"""Chart copies shared by the helm tests (one per xdist worker; the repository is never written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.support import chart_copy


@pytest.fixture(scope="session")
def fixture_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart with tests/helm/fixtures/files as its rules and dashboards (stable golden renders)."""
    return chart_copy(tmp_path_factory.mktemp("fixture-chart"))


@pytest.fixture(scope="session")
def bare_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart with no rule files and no dashboards (dashboards/ not synced yet)."""
    empty = tmp_path_factory.mktemp("no-files")
    return chart_copy(tmp_path_factory.mktemp("bare-chart"), files=empty)
