"""otel_llmcost.exceptions: the messages an application sees."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from otel_llmcost.exceptions import BudgetExceededError


def test_a_blocked_call_names_the_amounts_as_plain_decimals() -> None:
    err = BudgetExceededError(
        "tiny", scope={"team": "search"}, spent_usd=Decimal("0"), limit_usd=Decimal("1E-7"),
        resets_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
    )  # fmt: skip
    assert str(err) == (
        "budget 'tiny' (team=search) would be exceeded: $0 of $0.0000001 spent or reserved; "
        "resets 2026-12-01T00:00:00+00:00"
    )
    big = BudgetExceededError("m", scope={}, spent_usd=Decimal("1.50"), limit_usd=Decimal("2E+3"))
    assert str(big) == "budget 'm' (all calls) would be exceeded: $1.5 of $2000 spent or reserved"


def test_a_blocked_call_of_a_token_budget_counts_tokens() -> None:
    err = BudgetExceededError(
        "tok", scope={}, spent_usd=None, limit_usd=None, spent_tokens=999_500, limit_tokens=1_000_000
    )
    assert (
        str(err) == "budget 'tok' (all calls) would be exceeded: 999,500 of 1,000,000 tokens used or reserved"
    )
