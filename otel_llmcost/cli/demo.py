"""``otel-llmcost demo``: price a realistic mix of LLM calls and print the cost report.

Until the collector lands this prices a bundled sample of usage records (three providers, cached
and reasoning tokens, long context, batch, embeddings, an unknown model) with the real catalog.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import click

from otel_llmcost.cli._format import money
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage, from_anthropic, from_gemini, from_openai


@dataclass(frozen=True)
class SampleCall:
    provider: str
    model: str
    team: str
    usage: Usage
    service_tier: str | None = None


def sample_calls() -> list[SampleCall]:
    """A day of a small team's traffic, as the providers report it (their own conventions)."""
    oa = from_openai
    calls = [
        SampleCall(
            "openai",
            "gpt-4o",
            "search",
            oa(
                {
                    "prompt_tokens": 1850,
                    "completion_tokens": 420,
                    "prompt_tokens_details": {"cached_tokens": 1536},
                }
            ),
        ),
        SampleCall(
            "openai",
            "gpt-4o-mini-2024-07-18",
            "support",
            oa({"prompt_tokens": 950, "completion_tokens": 180}),
        ),
        SampleCall(
            "openai",
            "o3",
            "research",
            oa(
                {
                    "prompt_tokens": 4200,
                    "completion_tokens": 3100,
                    "completion_tokens_details": {"reasoning_tokens": 2560},
                }
            ),
        ),
        SampleCall(
            "openai",
            "text-embedding-3-small",
            "search",
            oa({"prompt_tokens": 48_000, "total_tokens": 48_000}),
        ),
        SampleCall(
            "openai",
            "gpt-4o",
            "research",
            oa({"prompt_tokens": 120_000, "completion_tokens": 2_000}),
            service_tier="batch",
        ),
        SampleCall(
            "anthropic",
            "claude-sonnet-4-5-20250929",
            "support",
            from_anthropic(
                {
                    "input_tokens": 310,
                    "cache_read_input_tokens": 8192,
                    "cache_creation_input_tokens": 2048,
                    "cache_creation": {"ephemeral_5m_input_tokens": 2048, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": 640,
                }
            ),
        ),
        SampleCall(
            "anthropic",
            "claude-haiku-4-5",
            "support",
            from_anthropic({"input_tokens": 1200, "output_tokens": 150}),
        ),
        SampleCall(
            "anthropic",
            "claude-opus-4-5",
            "research",
            from_anthropic(
                {
                    "input_tokens": 5400,
                    "cache_creation_input_tokens": 20_000,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 20_000},
                    "output_tokens": 2100,
                }
            ),
        ),
        SampleCall(
            "gcp.gemini",
            "gemini-2.5-pro",
            "research",
            from_gemini(
                {"promptTokenCount": 250_000, "candidatesTokenCount": 1800, "thoughtsTokenCount": 900}
            ),
        ),
        SampleCall(
            "gcp.gemini",
            "gemini-2.5-flash",
            "search",
            from_gemini(
                {
                    "promptTokenCount": 3000,
                    "cachedContentTokenCount": 2048,
                    "candidatesTokenCount": 220,
                    "thoughtsTokenCount": 400,
                }
            ),
        ),
        SampleCall(
            "gcp.gemini",
            "gemini-2.5-flash-lite",
            "support",
            from_gemini({"promptTokenCount": 700, "candidatesTokenCount": 90}),
        ),
        SampleCall(
            "openai", "acme-internal-llm", "search", oa({"prompt_tokens": 500, "completion_tokens": 50})
        ),
    ]
    # The same traffic pattern repeated through the day, so totals look like a real day.
    return [c for c in calls for _ in range(25)]


@click.command()
def demo() -> None:
    """Run the main job on embedded defaults and print the cost report."""
    from rich.console import Console
    from rich.table import Table

    pricer = Pricer()
    by_provider: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_model: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_team: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    unpriced: dict[str, int] = defaultdict(int)
    calls = sample_calls()
    for call in calls:
        cost = pricer.price(call.model, call.usage, provider=call.provider, service_tier=call.service_tier)
        if cost is None:
            unpriced[call.model] += 1
            continue
        total += cost.total
        by_provider[call.provider][0] += 1
        by_provider[call.provider][1] += cost.total
        by_model[cost.model][0] += 1
        by_model[cost.model][1] += cost.total
        by_team[call.team] += cost.total

    console = Console()
    console.print(f"[bold]otel-llmcost demo[/bold] — {len(calls)} calls priced with catalog {pricer.version}")
    table = Table(title="Cost by provider")
    for col, justify in (
        ("provider", "left"),
        ("calls", "right"),
        ("cost", "right"),
        ("% of total", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for provider, (count, cost_sum) in sorted(by_provider.items(), key=lambda kv: -kv[1][1]):
        table.add_row(provider, str(count), money(cost_sum), f"{cost_sum / total * 100:.1f}%")
    table.add_row(
        "[bold]total[/bold]", str(len(calls) - sum(unpriced.values())), f"[bold]{money(total)}[/bold]", "100%"
    )
    console.print(table)
    models = Table(title="Cost by model")
    for col, justify in (("model", "left"), ("calls", "right"), ("cost", "right")):
        models.add_column(col, justify=justify)  # type: ignore[arg-type]
    for key, (count, cost_sum) in sorted(by_model.items(), key=lambda kv: -kv[1][1]):
        models.add_row(key, str(count), money(cost_sum))
    console.print(models)
    console.print(
        "By team: " + ", ".join(f"{t} {money(c)}" for t, c in sorted(by_team.items(), key=lambda kv: -kv[1]))
    )
    for model, n_unpriced in unpriced.items():
        console.print(
            f"[yellow]unpriced:[/yellow] {n_unpriced} calls to {model!r} (unknown model — flagged, never $0)"
        )
