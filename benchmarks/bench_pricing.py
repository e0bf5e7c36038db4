"""Resolve + price throughput on one core (target: >= 200,000 prices/s for resolved names)."""

from __future__ import annotations

import time

from benchmarks import Figure
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage

CALLS = [
    ("gpt-4o", "openai", Usage(input=176, cache_read=1024, output=50)),
    (
        "claude-sonnet-4-5-20250929",
        "anthropic",
        Usage(input=176, cache_read=1024, cache_write_5m=500, output=50),
    ),
    ("gemini-2.5-flash", "gcp.gemini", Usage(input=176, cache_read=1024, output=20, reasoning=30)),
    ("gpt-4o-mini-2024-07-18", "openai", Usage(input=1000, output=200)),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock", Usage(input=5000, output=700)),
    ("gemini-2.5-pro", "gcp.gemini", Usage(input=250_000, output=1000)),  # long-context table
]


def _rate(fn: object, n: int, repeats: int = 5) -> float:
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        fn(n)  # type: ignore[operator]
        best = max(best, n / (time.perf_counter() - started))
    return best


def run(quick: bool = False) -> list[Figure]:
    pricer = Pricer()
    calls = CALLS
    count = len(calls)
    for model, provider, usage in calls:  # warm the resolution cache, as a long-running process has
        assert pricer.price(model, usage, provider=provider) is not None

    def price_many(n: int) -> None:
        price = pricer.price
        for i in range(n):
            model, provider, usage = calls[i % count]
            price(model, usage, provider=provider)

    def resolve_cold(n: int) -> None:
        for i in range(n):
            pricer._entries.clear()  # forget earlier resolutions: every name is new
            pricer._resolver._cache.clear()
            model, provider, _ = calls[i % count]
            pricer.resolve(model, provider)

    n = 50_000 if quick else 300_000
    started = time.perf_counter()
    Pricer()
    load_ms = (time.perf_counter() - started) * 1000
    return [
        Figure("resolve + price (resolved names)", _rate(price_many, n), "prices/s", target=200_000),
        Figure(
            "first resolution of a name (cold)", _rate(resolve_cold, 2000 if quick else 20_000, 3), "names/s"
        ),
        Figure("catalog load", load_ms, "ms", note="bundled JSON, entries parsed lazily"),
    ]
