"""Ledger benchmark: build a realistic SQLite ledger and time inserts and report queries.

    .venv/bin/python benchmarks/bench_ledger.py [rows]

The data mimics a busy organisation over 90 days ending now: 6 providers, 14 models, 8 teams,
25 projects, 500 users, more traffic in working hours, 2% errors, 1% unpriced calls, inserted
in time order in 512-row batches as the collector writes them (each batch one fsync'd transaction).
Report queries run on a freshly opened ledger; each figure is the best of three runs. "all"
has no filter, "90d" an explicit range over all rows, "month" the current UTC month.
Target: every query under 2 s for 1M rows on a 2-core machine.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import Figure, best_of
from otel_llmcost.ledger import Filters, LedgerRecord, open_ledger

BATCH = 512
DAYS = 90
NS = 1_000_000_000

# provider, model, $/Mtok input, $/Mtok output, traffic weight
_MODELS = (
    ("openai", "gpt-4o", 2.5, 10.0, 12),
    ("openai", "gpt-4o-mini", 0.15, 0.6, 30),
    ("openai", "o3", 2.0, 8.0, 4),
    ("openai", "gpt-4.1", 2.0, 8.0, 6),
    ("anthropic", "claude-sonnet-4", 3.0, 15.0, 14),
    ("anthropic", "claude-haiku-3.5", 0.8, 4.0, 8),
    ("anthropic", "claude-opus-4", 15.0, 75.0, 1),
    ("gcp.gemini", "gemini-2.5-pro", 1.25, 10.0, 5),
    ("gcp.gemini", "gemini-2.5-flash", 0.3, 2.5, 10),
    ("aws.bedrock", "anthropic.claude-3-5-sonnet", 3.0, 15.0, 3),
    ("aws.bedrock", "meta.llama3-70b", 0.99, 0.99, 2),
    ("mistral_ai", "mistral-large", 2.0, 6.0, 2),
    ("mistral_ai", "mistral-small", 0.1, 0.3, 2),
    ("groq", "llama-3.3-70b", 0.59, 0.79, 1),
)
_TEAMS = ("search", "support", "growth", "platform", "ml-research", "sales", "legal", "data")
_SERVICES = ("chat-api", "summarizer", "agent-runner", "classifier", "rag-indexer", "email-bot")
_FEATURES = tuple(f"feature-{i}" for i in range(20))


def _records(rows: int, end_ns: int, seed: int = 7) -> Iterator[list[LedgerRecord]]:
    """``rows`` records in start order over the ``DAYS`` before ``end_ns``, in ``BATCH`` lists."""
    rnd = random.Random(seed)
    weights = [m[4] for m in _MODELS]
    start_ns = end_ns - DAYS * 86_400 * NS
    step = (end_ns - start_ns) // rows
    batch: list[LedgerRecord] = []
    for i in range(rows):
        provider, model, p_in, p_out, _ = rnd.choices(_MODELS, weights)[0]
        ts = start_ns + i * step + rnd.randrange(step)
        tokens_in = int(rnd.lognormvariate(6.5, 1.2)) + 1
        cached = tokens_in // 2 if rnd.random() < 0.3 else 0
        tokens_out = int(rnd.lognormvariate(5.0, 1.0)) + 1
        reasoning = tokens_out * 3 if model == "o3" else 0
        priced = rnd.random() > 0.01
        cost_in = (tokens_in - cached) * int(p_in * 1000) + cached * int(p_in * 100)
        cost_out = (tokens_out + reasoning) * int(p_out * 1000)
        error = rnd.random() < 0.02
        team = rnd.choice(_TEAMS)
        batch.append(
            LedgerRecord(
                trace_id=f"{rnd.getrandbits(128):032x}",
                span_id=f"{rnd.getrandbits(64):016x}",
                start_ns=ts,
                end_ns=ts + rnd.randrange(200_000_000, 20 * NS),
                provider=provider,
                operation="chat",
                request_model=model,
                response_model=f"{model}-2025-06-01",
                pricing_model=f"{provider}/{model}" if priced else None,
                price_version="2025-06-01" if priced else None,
                priced=priced,
                input_tokens=tokens_in - cached,
                cache_read_tokens=cached,
                output_tokens=tokens_out,
                reasoning_tokens=reasoning,
                cost_nanos=cost_in + cost_out if priced else 0,
                cost_input_nanos=cost_in if priced else 0,
                cost_output_nanos=cost_out if priced else 0,
                status="error" if error else "ok",
                error_type="RateLimitError" if error else None,
                finish_reason=None if error else "stop",
                service=rnd.choice(_SERVICES),
                environment="prod" if rnd.random() < 0.8 else "staging",
                team=team,
                project=f"{team}-p{rnd.randrange(3)}",
                user=f"user-{rnd.randrange(500):03d}",
                feature=rnd.choice(_FEATURES),
                ingested_ns=ts + 2 * NS,
            )
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def run(quick: bool = False) -> list[Figure]:
    """The harness entry point: 1M rows (50k with ``quick``); report queries target < 2 s."""
    rows = 50_000 if quick else 1_000_000
    results = measure(rows)
    figures = [
        Figure("SQLite insert (512-row committed batches)", results["insert_rows_per_s"], "rows/s"),
        Figure("SQLite ledger size", results["db_mb"], "MB", note=f"{rows:,} rows"),
    ]
    for key, value in results.items():
        if key.endswith("_s") and (key.startswith("totals_") or key.startswith("group_")):
            label = key.removesuffix("_s").replace("_", " ")
            figures.append(Figure(f"{label} over {rows:,} rows", value, "s", target=2.0, better="lower"))
    return figures


def measure(rows: int = 1_000_000) -> dict[str, float]:
    """Build a ``rows``-row ledger in a temporary directory; return throughput and query seconds."""
    now = time.time_ns()
    today = datetime.fromtimestamp(now / NS, timezone.utc)
    month_start = int(today.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()) * NS
    results: dict[str, float] = {"rows": float(rows)}
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        path = Path(tmp) / "ledger.db"
        url = f"sqlite:///{path}"
        insert_s = 0.0
        with open_ledger(url) as ledger:
            for batch in _records(rows, now):
                start = time.perf_counter()
                ledger.insert(batch)
                insert_s += time.perf_counter() - start
            assert ledger.count() == rows
        results["insert_rows_per_s"] = rows / insert_s
        results["db_mb"] = path.stat().st_size / 1e6
        ranges = {
            "all": Filters(),
            "90d": Filters(since_ns=now - DAYS * 86_400 * NS, until_ns=now + 1),
            "month": Filters(since_ns=month_start),
        }
        with open_ledger(url) as ledger:  # fresh connections: nothing cached in SQLite
            for label, filters in ranges.items():
                results[f"totals_{label}_s"] = best_of(lambda f=filters: ledger.totals(f))
                for by in (["provider"], ["model"], ["team", "day"]):
                    name = "_".join(by)
                    results[f"group_{name}_{label}_s"] = best_of(lambda b=by, f=filters: ledger.group(b, f))
    return results


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for key, value in measure(count).items():
        print(f"{key:32s} {value:14.3f}")
