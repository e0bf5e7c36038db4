"""Sums past 64 bits: SQLite cannot add them up, and says so with :class:`LedgerOverflowError`
(never a rounded float); PostgreSQL sums bigints into numerics and answers exactly."""

from __future__ import annotations

import pytest

from otel_llmcost.ledger import Filters, LedgerBackend, LedgerOverflowError
from tests.ledger.support import make_record

HUGE = 4 * 10**18  # three of them: 1.2e19 nano-dollars, past 2**63 - 1


def test_a_sum_past_64_bits_is_an_error_on_sqlite_and_exact_on_postgresql(
    ledger: LedgerBackend, engine: str
) -> None:
    ledger.insert([make_record(i, cost_nanos=HUGE, team="t", user=f"u{i}") for i in (1, 2, 3)])
    if engine == "postgresql":
        assert ledger.totals().cost_nanos == 3 * HUGE
        assert [g.totals.cost_nanos for g in ledger.group(["team"])] == [3 * HUGE]
        return
    for query in (lambda: ledger.totals(), lambda: ledger.group(["team"]), lambda: ledger.group(["day"])):
        with pytest.raises(LedgerOverflowError, match="exceed the 64-bit integer range"):
            query()
    assert isinstance(LedgerOverflowError(), OverflowError)  # what callers caught before
    # a selection, or groups, whose sums fit still answer
    assert ledger.totals(Filters(until_ns=make_record(3).start_ns)).cost_nanos == 2 * HUGE
    assert [g.totals.cost_nanos for g in ledger.group(["user"])] == [HUGE] * 3


def test_the_message_names_the_cause() -> None:
    assert str(LedgerOverflowError()) == (
        "the ledger's sums over these rows exceed the 64-bit integer range (over $9.2 billion, or 9.2e18 "
        "tokens): some row holds an absurd cost_nanos or token count"
    )
