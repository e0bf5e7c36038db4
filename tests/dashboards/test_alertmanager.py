"""The Alertmanager example: amtool accepts it and routes each kind of alert where it says."""

from __future__ import annotations

import subprocess

import pytest

from tests.dashboards.support import ALERTMANAGER_CONFIG, AMTOOL

pytestmark = pytest.mark.services  # the amtool binary (scripts/services.sh installs it)


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, check=False)


def test_amtool_accepts_the_example() -> None:
    result = amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 3 inhibit rules\n - 2 receivers\n" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # Budget alerts are mailed and go on to the severity routes' webhook.
        (["alertname=LLMBudgetExhausted", "category=budget", "severity=critical"], "budget-email,webhook"),
        (
            ["alertname=LLMBudgetThresholdReached", "category=budget", "severity=warning"],
            "budget-email,webhook",
        ),
        (["alertname=LLMDailyCostHigh", "category=spend", "severity=warning"], "webhook"),
        (["alertname=LLMCostCollectorDown", "category=collector", "severity=critical"], "webhook"),
    ],
)
def test_routes(labels: list[str], receivers: str) -> None:
    result = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receivers
