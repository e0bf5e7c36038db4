"""What ``otel-llmcost report`` shows: the report, this month's spend and the model-level rows.

Everything comes from one grouped pass over the selected rows (at the finest grain shown) plus
one indexed pass over the current month; coarser breakdowns and the totals are sums of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from otel_llmcost.analytics._report import (
    LedgerReader,
    ReportQuery,
    fold_groups,
    month_range,
    report_json,
    sum_totals,
)
from otel_llmcost.ledger import Filters, Group, Totals

__all__ = ["DEFAULT_GROUP_BY", "Dashboard", "build_dashboard"]

DEFAULT_GROUP_BY = ("provider",)
_DETAIL = "model"


@dataclass(frozen=True)
class Dashboard:
    """The numbers of one dashboard; ``report`` is exactly what ``/v1/report`` answers for ``query``."""

    query: ReportQuery
    report: dict[str, Any]
    month: str  # the current UTC calendar month, YYYY-MM
    month_totals: Totals
    detail_by: tuple[str, ...] = ()  # query.group_by + ("model",) when verbose (and not by model)
    detail: list[Group] = field(default_factory=list)


def build_dashboard(
    reader: LedgerReader, query: ReportQuery, *, verbose: bool = False, now: datetime | None = None
) -> Dashboard:
    """The dashboard for ``query`` (grouped by provider when it names no dimension). ``verbose``
    splits every group by model too (nothing to split when ``model`` is grouped by already)."""
    if not query.group_by:
        query = replace(query, group_by=DEFAULT_GROUP_BY)
    by = query.group_by
    verbose = verbose and _DETAIL not in by
    detail_by = (*by, _DETAIL) if verbose else by
    fine = reader.group(detail_by, query.filters)
    groups = fold_groups(fine, by) if detail_by != by else fine
    totals = sum_totals(g.totals for g in groups)
    shown = groups if query.limit is None else groups[: query.limit]
    moment = now or datetime.now(timezone.utc)
    month = moment.astimezone(timezone.utc).strftime("%Y-%m")
    start, end = month_range(month)
    month_totals = reader.totals(Filters(since_ns=start, until_ns=end, equals=query.filters.equals))
    kept = {tuple(g.key[d] for d in by) for g in shown}
    detail = [g for g in fine if tuple(g.key[d] for d in by) in kept] if verbose else []
    return Dashboard(
        query=query,
        report=report_json(totals, query, shown),
        month=month,
        month_totals=month_totals,
        detail_by=detail_by if verbose else (),
        detail=detail,
    )
