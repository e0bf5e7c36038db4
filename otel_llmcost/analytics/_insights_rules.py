"""From a window's per-(model, feature) figures to insights, one function per kind.

Savings are estimates with stated assumptions, in nano-dollars over the analysed window:

* ``duplicate_requests``: the cost of every repeat a response cache would have answered.
* ``truncated_responses`` and ``failed_calls``: their whole cost (a cut-off answer is usually
  discarded or retried; a failed call bought nothing).
* ``unread_cache_writes``: what the unread writes cost beyond the same tokens as plain input (the
  write premium a cache that is never read only adds).
* ``low_cache_hit_ratio``: the input discount if cache reads reached :data:`CACHE_HIT_TARGET` of
  the input (the cost-management notes' target), ignoring the write premium it takes. Not for a
  scope whose cache writes are mostly never read: caching more would not help it.
* ``model_right_sizing``: the scope's cost minus the same usage at the suggested model's list
  price (standard tier, short-context table, provider discount applied).
* ``max_tokens_overprovisioned``: no direct saving (unused ``max_tokens`` is not billed); a tighter
  cap bounds runaway answers and the budget guard's reservations.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from otel_llmcost.analytics._insights_scan import ScopeStats
from otel_llmcost.analytics._report import usd
from otel_llmcost.budgets._policy_schema import TIERS
from otel_llmcost.pricing import ModelEntry, Pricer, to_nanos

__all__ = [
    "CACHEABLE_PROMPT_TOKENS",
    "CACHE_HIT_LOW",
    "CACHE_HIT_TARGET",
    "DUPLICATES",
    "FAILED",
    "LOW_CACHE_HITS",
    "MAX_TOKENS",
    "MIN_REQUESTS",
    "OVERPROVISION_FACTOR",
    "RIGHT_SIZING",
    "SHORT_OUTPUT_TOKENS",
    "TRUNCATED",
    "UNREAD_CACHE_WRITES",
    "Finding",
    "Rules",
    "p95",
]

DUPLICATES = "duplicate_requests"
TRUNCATED = "truncated_responses"
FAILED = "failed_calls"
MAX_TOKENS = "max_tokens_overprovisioned"
LOW_CACHE_HITS = "low_cache_hit_ratio"
UNREAD_CACHE_WRITES = "unread_cache_writes"
RIGHT_SIZING = "model_right_sizing"

MIN_REQUESTS = 20  # successful calls before a distribution-based insight is trusted
SHORT_OUTPUT_TOKENS = 256  # p95 output at or below this is a short-answer workload
OVERPROVISION_FACTOR = 4  # typical max_tokens at least this many times the p95 output
CACHE_HIT_LOW = 0.4
CACHE_HIT_TARGET = 0.5
CACHEABLE_PROMPT_TOKENS = 1024  # providers cache prefixes from about this length
_PRICE_ATTRS = (
    "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning", "input_audio", "output_audio",
)  # fmt: skip

Evidence = dict[str, int | float | str]
#: (kind, evidence, spend nanos, saving nanos, suggestion); the scope is added by the caller.
Finding = tuple[str, Evidence, int, int, str]


def p95(values: Sequence[int]) -> int:
    """The nearest-rank 95th percentile: the smallest value at least 95% of ``values`` reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Rules:
    """The insight rules, with the catalog and tier map they price and rank models by."""

    def __init__(self, pricer: Pricer, tiers: Mapping[str, Sequence[str]], day: date) -> None:
        self.pricer = pricer
        self.tiers = tiers
        self.day = day

    def all(self) -> tuple[Callable[[str | None, ScopeStats], list[Finding]], ...]:
        return (
            self.duplicates, self.truncated, self.failed, self.max_tokens, self.cache_hits,
            self.unread_cache_writes, self.right_sizing,
        )  # fmt: skip

    # -- pricing helpers ---------------------------------------------------------------------

    def _entry(self, model: str | None, provider: str | None) -> ModelEntry | None:
        return self.pricer.resolve(model, provider) if model else None

    def _prices(self, entry: ModelEntry) -> tuple[Decimal, ...] | None:
        period = entry.period_at(self.day)
        if period is None:
            return None
        discount = self.pricer.overrides.discounts.get(entry.provider, Decimal(0))
        factor = Decimal(1) - discount
        return tuple(getattr(period.table, name) * factor for name in _PRICE_ATTRS)

    def reprice(self, entry: ModelEntry, tokens: Sequence[int]) -> int | None:
        """The cost of ``tokens`` (ScopeStats.tokens order) at ``entry``'s list price."""
        if entry.free:
            return 0
        prices = self._prices(entry)
        if prices is None:
            return None
        return to_nanos(sum((p * t for p, t in zip(prices, tokens, strict=True)), Decimal(0)))

    def tier_of(self, model: str, entry: ModelEntry | None) -> str | None:
        names = {model} | ({entry.model, *entry.aliases} if entry is not None else set())
        return next((tier for tier in TIERS if names & set(self.tiers.get(tier, ()))), None)

    # -- the rules ---------------------------------------------------------------------------

    def duplicates(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if not s.duplicates:
            return []
        evidence: Evidence = {
            "requests": s.fingerprinted,
            "duplicates": s.duplicates,
            "repeated_prompts": len(s.repeated),
        }
        text = (
            f"{s.duplicates} of {s.fingerprinted} successful calls repeated a prompt already answered; "
            "cache responses keyed by model and prompt"
        )
        return [(DUPLICATES, evidence, s.duplicate_cost, s.duplicate_cost, text)]

    def truncated(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if not s.truncated:
            return []
        evidence: Evidence = {"requests": len(s.outputs), "truncated": s.truncated}
        text = f"{s.truncated} answers stopped at their max_tokens cap; raise it or ask for shorter answers"
        return [(TRUNCATED, evidence, s.truncated_cost, s.truncated_cost, text)]

    def failed(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if not s.failed:
            return []
        evidence: Evidence = {"requests": s.requests, "failed": s.failed}
        evidence.update({f"error:{kind}": n for kind, n in sorted(s.error_types.items())})
        worst = max(sorted(s.error_types), key=lambda kind: s.error_types[kind])
        text = f"{s.failed} of {s.requests} calls failed (mostly {worst}); fix or back off before retrying"
        return [(FAILED, evidence, s.failed_cost, s.failed_cost, text)]

    def max_tokens(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if len(s.capped_outputs) < MIN_REQUESTS:
            return []
        used = p95(s.capped_outputs)
        requested = int(statistics.median_low(s.max_tokens))
        if requested < OVERPROVISION_FACTOR * max(used, 1):
            return []
        suggested = max(64, math.ceil(used * 1.5 / 64) * 64)
        evidence: Evidence = {
            "requests": len(s.capped_outputs),
            "max_tokens": requested,
            "p95_output_tokens": used,
        }
        text = (
            f"max_tokens is {requested} but 95% of answers use at most {used} tokens; set it near {suggested}"
        )
        return [(MAX_TOKENS, {**evidence, "suggested_max_tokens": suggested}, s.cost, 0, text)]

    def cache_hits(self, model: str | None, s: ScopeStats) -> list[Finding]:
        uncached, read, write_5m, write_1h = s.tokens[:4]
        prompt = uncached + read + write_5m + write_1h
        entry = self._entry(model, s.provider)
        prices = self._prices(entry) if entry is not None and not entry.free else None
        if len(s.outputs) < MIN_REQUESTS or prompt < CACHEABLE_PROMPT_TOKENS * s.requests or prices is None:
            return []
        ratio = read / prompt
        if ratio >= CACHE_HIT_LOW or prices[1] >= prices[0]:
            return []
        if 2 * s.unread_writes > s.cache_writes:
            return []  # it caches, but what it caches is not reused: unread_cache_writes says so
        moved = min(uncached, math.floor(CACHE_HIT_TARGET * prompt) - read)
        saving = to_nanos((prices[0] - prices[1]) * moved)
        evidence: Evidence = {
            "requests": s.requests,
            "input_tokens": prompt,
            "cache_read_tokens": read,
            "hit_ratio": round(ratio, 4),
        }
        text = (
            f"only {ratio:.1%} of input was read from the provider's prompt cache; put stable content "
            "(system prompt, tools, documents) first and mark it cacheable"
        )
        return [(LOW_CACHE_HITS, evidence, s.cost, saving, text)]

    def unread_cache_writes(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if not s.unread_writes:
            return []
        entry = self._entry(model, s.provider)
        prices = self._prices(entry) if entry is not None else None
        plain = to_nanos(prices[0] * s.unread_tokens) if prices is not None else 0
        evidence: Evidence = {
            "cache_writes": s.cache_writes,
            "unread_writes": s.unread_writes,
            "unread_tokens": s.unread_tokens,
        }
        text = (
            f"{s.unread_writes} of {s.cache_writes} prompt-cache writes were never read back within their TTL; "
            "stop marking content that is not reused as cacheable (or use the 5-minute TTL)"
        )
        return [(UNREAD_CACHE_WRITES, evidence, s.unread_cost, max(0, s.unread_cost - plain), text)]

    def right_sizing(self, model: str | None, s: ScopeStats) -> list[Finding]:
        if model is None or len(s.outputs) < MIN_REQUESTS:
            return []
        entry = self._entry(model, s.provider)
        if entry is None or self.tier_of(model, entry) != TIERS[0] or p95(s.outputs) > SHORT_OUTPUT_TOKENS:
            return []
        for tier in TIERS[1:]:
            for candidate in self.tiers.get(tier, ()):
                cheaper = self.pricer.resolve(candidate, entry.provider)
                if cheaper is None or cheaper.provider != entry.provider:
                    continue
                cost = self.reprice(cheaper, s.tokens)
                if cost is None or cost >= s.cost:
                    continue
                used = p95(s.outputs)
                evidence: Evidence = {"requests": s.requests, "p95_output_tokens": used, "suggested_model": candidate,
                            "suggested_cost_usd": usd(cost)}  # fmt: skip
                text = (
                    f"{model} is a premium model, yet 95% of these answers are at most {used} tokens; "
                    f"try {candidate} ({tier} tier) on this feature"
                )
                return [(RIGHT_SIZING, evidence, s.cost, s.cost - cost, text)]
        return []
