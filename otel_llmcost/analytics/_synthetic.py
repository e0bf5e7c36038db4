"""Realistic synthetic usage: a deterministic organisation's LLM traffic for demos, tests and benchmarks.

::

    records = list(SyntheticUsage(seed=3, days=120).records())  # LedgerRecords in start order

The calls of day ``d`` number ``calls_per_day x (1 + monthly_growth)^(d / 30) x weekday factor x
day noise`` (a mean-one lognormal), spread over the UTC hours with a working-day shape. About
``spike_days_per_month`` days a month one workload bursts to ``spike_factor`` times the normal
volume for two or three hours (a runaway agent loop, a batch job). Each call belongs to one of
:data:`~otel_llmcost.analytics._workloads.WORKLOADS` (eight features of seven teams on three
providers, embeddings included), and its cost is the bundled catalog's exact price of its usage, split into
the ledger's cost columns as the collector splits them. The same seed and settings always give
the same records, ids included.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from otel_llmcost.analytics._workloads import WORKLOADS, Workload
from otel_llmcost.ledger import LedgerRecord
from otel_llmcost.pricing import Cost, ModelEntry, Pricer, get_pricer, to_nanos
from otel_llmcost.usage import Usage

__all__ = ["SyntheticUsage", "cost_columns"]

_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
# Share of a day's calls in each UTC hour: quiet nights, a working-day plateau across time zones.
_HOURLY = (1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 7, 5, 4, 3, 2, 2, 1)
_HOURLY_CUM = tuple(sum(_HOURLY[: i + 1]) for i in range(24))
_TRUNCATED = {"openai": "length", "anthropic": "max_tokens", "gcp.gemini": "MAX_TOKENS"}
_FINISHED = {"openai": "stop", "anthropic": "end_turn", "gcp.gemini": "STOP"}
_CACHE_TTL_NS = {"5m": 300 * _NS, "1h": 3600 * _NS, None: 300 * _NS}
# Cost.breakdown bucket -> LedgerRecord cost column (as the collector stores a Cost).
_COLUMN = {
    "input": "cost_input_nanos", "input_audio": "cost_input_nanos", "input_image": "cost_input_nanos",
    "output": "cost_output_nanos", "output_audio": "cost_output_nanos", "cache_read": "cost_cache_read_nanos",
    "cache_write_5m": "cost_cache_write_nanos", "cache_write_1h": "cost_cache_write_nanos",
    "reasoning": "cost_reasoning_nanos", "request_fees": "cost_fees_nanos",
}  # fmt: skip


def cost_columns(cost: Cost) -> dict[str, int]:
    """``cost_nanos`` and the per-bucket cost columns of a :class:`LedgerRecord` for ``cost``:
    buckets of one column are summed exactly, then each sum is rounded to nano-dollars."""
    sums: dict[str, Decimal] = {}
    for bucket, amount in cost.breakdown.items():
        column = _COLUMN[bucket]
        sums[column] = sums.get(column, Decimal(0)) + amount
    return {"cost_nanos": to_nanos(cost.total), **{k: to_nanos(v) for k, v in sums.items()}}


def _priced(record: LedgerRecord, cost: Cost) -> LedgerRecord:
    for column, nanos in cost_columns(cost).items():
        setattr(record, column, nanos)
    return record


@dataclass(frozen=True)
class SyntheticUsage:
    """Settings of a synthetic ledger; :meth:`records` generates it. See the module docs."""

    seed: int = 0
    days: int = 120
    end: date = date(2026, 1, 1)  # exclusive: the calls fall on the ``days`` UTC days before it
    calls_per_day: float = 400.0  # on a day of weekday factor 1 at the start
    monthly_growth: float = 0.08  # compounded daily
    weekday_factors: tuple[float, ...] = (1.0, 1.1, 1.1, 1.05, 0.9, 0.35, 0.3)  # Monday first
    daily_noise: float = 0.1  # sigma of the day's lognormal volume factor
    spike_days_per_month: float = 1.0
    spike_factor: float = 3.0
    workloads: tuple[Workload, ...] = field(default=WORKLOADS, repr=False)

    def __post_init__(self) -> None:
        if self.days < 1 or self.calls_per_day < 0 or len(self.weekday_factors) != 7:
            raise ValueError("days must be >= 1, calls_per_day >= 0 and weekday_factors has 7 values")

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days)

    def expected_calls(self, day: date) -> float:
        """The mean number of calls on ``day`` (before day noise and spikes)."""
        index = (day - self.start).days
        growth = math.pow(1.0 + self.monthly_growth, index / 30.0)
        return self.calls_per_day * growth * self.weekday_factors[day.weekday()]

    def records(self, pricer: Pricer | None = None) -> Iterator[LedgerRecord]:
        """Every call, in start order, priced by ``pricer`` (default: the process-wide one)."""
        return _Generator(self, pricer or get_pricer()).run()

    def __iter__(self) -> Iterator[LedgerRecord]:
        return self.records()


class _Generator:
    def __init__(self, spec: SyntheticUsage, pricer: Pricer) -> None:
        self.spec = spec
        self.pricer = pricer
        self.rnd = random.Random(spec.seed)
        self.workloads = spec.workloads
        self.cum_shares = tuple(
            math.fsum(w.share for w in spec.workloads[: i + 1]) for i in range(len(spec.workloads))
        )
        self.entries: dict[str, ModelEntry] = {
            w.model: pricer.require(w.model, w.provider) for w in spec.workloads
        }
        self.last_cache_use: dict[str, int] = {}  # feature -> last time its cached prefix was written or read
        # The popular prompts of each workload: (fingerprint, prompt tokens, answer tokens).
        self.popular: dict[str, list[tuple[str, int, int]]] = {}
        for w in spec.workloads:
            if w.duplicate_rate:
                table = random.Random(f"{spec.seed}:{w.feature}")
                self.popular[w.feature] = [
                    (_digest(f"{spec.seed}:{w.feature}:{k}"), _tokens(table, w.input_tokens), _tokens(table, w.output_tokens))
                    for k in range(w.popular_prompts)
                ]  # fmt: skip

    def run(self) -> Iterator[LedgerRecord]:
        spec, rnd = self.spec, self.rnd
        for index in range(spec.days):
            day = spec.start + timedelta(days=index)
            midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            day_ns = int(midnight.timestamp()) * _NS
            noise = math.exp(rnd.gauss(0.0, spec.daily_noise) - spec.daily_noise**2 / 2)
            expected = spec.expected_calls(day) * noise
            calls = [(self._moment(day_ns), self._workload()) for _ in range(_round(rnd, expected))]
            if rnd.random() < spec.spike_days_per_month / 30.0:
                calls += self._spike(day_ns, expected)
            calls.sort(key=lambda call: call[0])
            for start_ns, workload in calls:
                yield self._call(workload, start_ns, midnight)

    def _moment(self, day_ns: int) -> int:
        hour = self.rnd.choices(range(24), cum_weights=_HOURLY_CUM)[0]
        return day_ns + hour * _HOUR_NS + self.rnd.randrange(_HOUR_NS)

    def _workload(self) -> Workload:
        return self.rnd.choices(self.workloads, cum_weights=self.cum_shares)[0]

    def _spike(self, day_ns: int, expected: float) -> list[tuple[int, Workload]]:
        """Extra calls of one chat workload for 2-3 hours: ``spike_factor`` times the normal hour."""
        rnd = self.rnd
        workload = rnd.choice([w for w in self.workloads if w.operation == "chat"])
        first = rnd.randrange(9, 17)
        extra: list[tuple[int, Workload]] = []
        for hour in range(first, first + rnd.choice((2, 3))):
            normal = expected * _HOURLY[hour] / _HOURLY_CUM[-1]
            for _ in range(_round(rnd, normal * (self.spec.spike_factor - 1.0))):
                extra.append((day_ns + hour * _HOUR_NS + rnd.randrange(_HOUR_NS), workload))
        return extra

    def _call(self, w: Workload, start_ns: int, day: datetime) -> LedgerRecord:
        rnd = self.rnd
        popular = self.popular.get(w.feature)
        if popular and rnd.random() < w.duplicate_rate:
            # Popularity falls off steeply (a few questions make most repeats).
            fingerprint, prompt, wanted = popular[int(len(popular) * rnd.random() ** 3)]
        else:
            fingerprint = f"{rnd.getrandbits(64):016x}"
            prompt, wanted = _tokens(rnd, w.input_tokens), _tokens(rnd, w.output_tokens)
        wanted = max(1, wanted) if w.operation == "chat" else 0
        cache_read = cache_write = 0
        if w.cached_prefix:
            prompt = max(prompt, w.cached_prefix + 64)
            last = self.last_cache_use.get(w.feature)
            warm = last is not None and start_ns - last <= _CACHE_TTL_NS[w.cache_ttl] and not w.fresh_prefix
            if warm:
                cache_read = w.cached_prefix
            elif w.cache_ttl is not None:
                cache_write = w.cached_prefix
            self.last_cache_use[w.feature] = start_ns
        output, truncated = wanted, False
        if w.max_tokens is not None and wanted > w.max_tokens:
            output, truncated = w.max_tokens, True
        status, error_type, finish = "ok", None, None
        if rnd.random() < w.error_rate:
            status = "error"
            if rnd.random() < w.billed_error_share:
                error_type, output = "APITimeoutError", output // 3  # the prompt and a cut stream bill
            else:
                error_type, prompt, output, cache_read, cache_write = "RateLimitError", 0, 0, 0, 0
        elif w.operation == "chat":
            finish = _TRUNCATED[w.provider] if truncated else _FINISHED[w.provider]
        reasoning = int(output * w.reasoning_share)
        usage = Usage(
            input=prompt - cache_read - cache_write,
            cache_read=cache_read,
            cache_write_5m=cache_write if w.cache_ttl == "5m" else 0,
            cache_write_1h=cache_write if w.cache_ttl == "1h" else 0,
            output=output - reasoning,
            reasoning=reasoning,
        )
        cost = self.pricer.price_entry(self.entries[w.model], usage, at=day)
        assert cost is not None  # bundled prices have been in force since 1970
        end_ns = start_ns + 300_000_000 + output * 15_000_000 + rnd.randrange(200_000_000)
        record = LedgerRecord(
            trace_id=f"{rnd.getrandbits(128):032x}",
            span_id=f"{rnd.getrandbits(64):016x}",
            start_ns=start_ns,
            end_ns=end_ns,
            provider=w.provider,
            operation=w.operation,
            request_model=w.model,
            response_model=w.model,
            pricing_model=cost.model,
            price_version=self.pricer.version,
            input_tokens=usage.input,
            cache_read_tokens=usage.cache_read,
            cache_write_5m_tokens=usage.cache_write_5m,
            cache_write_1h_tokens=usage.cache_write_1h,
            output_tokens=usage.output,
            reasoning_tokens=usage.reasoning,
            status=status,
            error_type=error_type,
            finish_reason=finish,
            max_tokens=w.max_tokens,
            service=w.service,
            environment="prod",
            team=w.team,
            project=w.project,
            user=f"{w.team}-user-{rnd.randrange(w.users):02d}",
            feature=w.feature,
            prompt_fingerprint=fingerprint,
            ingested_ns=end_ns + _NS,
        )
        return _priced(record, cost)


def _round(rnd: random.Random, expected: float) -> int:
    """``expected`` rounded up or down at random, so counts keep the exact mean."""
    whole = int(expected)
    return whole + (1 if rnd.random() < expected - whole else 0)


def _tokens(rnd: random.Random, params: tuple[float, float]) -> int:
    mu, sigma = params
    return int(rnd.lognormvariate(mu, sigma)) if sigma or mu else 0


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
