"""collector/: the example policy and price files load, and the deploy configs hang together.

No Docker engine or otelcol-contrib binary exists here, so the Dockerfile and the bridge config
are checked statically: every file the image copies exists, its entry point is our CLI, and the
bridge routes GenAI spans to a separate otel-llmcost pipeline.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import yaml

from otel_llmcost.budgets import load_policy
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"


def test_budgets_example_expresses_every_documented_case() -> None:
    policy = load_policy(COLLECTOR / "budgets.example.yaml")
    names = [b.name for b in policy.budgets]
    assert set(names) >= {
        "monthly",
        "project-total",
        "org-tokens",
        "org-tokens/team=a",
        "org-tokens/team=b",
        "per-run",
        "per-thread",
        "support-daily",
    }
    assert policy.get("org-tokens/team=a").limit_tokens == 400_000
    assert policy.get("org-tokens/team=b").limit_tokens == 600_000
    assert policy.get("project-total").thresholds[0].usd == Decimal(800)


def test_prices_example_loads_and_prices() -> None:
    pricer = Pricer(overrides=COLLECTOR / "prices.example.yaml")
    finetune = pricer.price("my-finetune", Usage(input=1_000_000, output=1_000_000), provider="openai")
    assert finetune is not None and finetune.total == Decimal("1.275")  # (0.30 + 1.20) × 0.85
    vllm = pricer.price("llama-3.1-70b-vllm", Usage(input=1_000_000), provider="vllm")
    # $10,000 / (2,500 tok/s × 0.6 × 2,628,000 s) per token, rounded to whole femto-dollars, × 1M
    assert vllm is not None
    assert vllm.total == Decimal("2.536783359")
    assert pricer.price("prod-chat", Usage(input=1), provider="azure.ai.openai") is not None
    free = pricer.price("llama3:8b", Usage(input=10), provider="local")
    assert free is not None and free.free


def test_dockerfile_copies_what_exists_and_runs_the_collector() -> None:
    text = (COLLECTOR / "Dockerfile").read_text()
    root = COLLECTOR.parent
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*?) \S+$", text, re.M):
        for path in source.split():
            assert (root / path).exists(), path
    assert 'ENTRYPOINT ["otel-llmcost", "collector"' in text
    assert re.search(r"^USER \d+$", text, re.M), "runs as a non-root user"


def test_bridge_routes_genai_spans_to_otel_llmcost() -> None:
    config = yaml.safe_load((COLLECTOR / "otelcol-bridge.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    assert pipelines["traces/llmcost"]["exporters"] == ["otlp/llmcost"]
    assert "filter/genai-only" in pipelines["traces/llmcost"]["processors"]
    assert pipelines["traces/backend"]["exporters"] == ["otlp/backend"]
    for pipeline in pipelines.values():
        for part in ("receivers", "processors", "exporters"):
            for name in pipeline.get(part, []):
                assert name in config[part], f"{part}: {name} is not defined"
    assert config["exporters"]["otlp/llmcost"]["retry_on_failure"]["enabled"] is True
