"""The rendered ConfigMap and environment load in the real collector, budget and price parsers."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import yaml

from otel_llmcost import Pricer, Usage
from otel_llmcost.budgets._policy import load_policy
from otel_llmcost.collector import CollectorConfig
from otel_llmcost.collector._config import Address, ForwardEndpoint, TLSFiles
from otel_llmcost.pricing import Cost
from tests.helm.collector_files import load_rendered
from tests.helm.support import container, load_values, render

PG_URL = "postgresql://llmcost:secret@postgres.llm.svc/llmcost"
SECRETS = {
    ("llmcost-postgres", "ledger-url"): PG_URL,
    ("llmcost-postgres", "url"): PG_URL,
    ("llmcost-redis", "url"): "redis://redis.llm.svc:6379/0",
    ("llmcost-api", "token"): "s3cret-token",
    ("llmcost-fingerprint", "key"): "fingerprint-key",
}


def _total(cost: Cost | None) -> Decimal:
    assert cost is not None, "unpriced"
    return cost.total


def _gateway(values: dict[str, object], directory: Path) -> CollectorConfig:
    rendered = render(values)
    name = rendered.one("Deployment")["metadata"]["name"]
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    return load_rendered(rendered.one("ConfigMap", f"{name}-config"), container(pod), directory, SECRETS)


def test_chart_defaults_are_the_collectors_defaults(tmp_path: Path) -> None:
    """Every collector setting the chart does not own keeps the collector's built-in default."""
    loaded = _gateway({"mode": "gateway"}, tmp_path)
    assert loaded == dataclasses.replace(
        CollectorConfig(),
        otlp_grpc=Address("0.0.0.0", 4317),
        otlp_http=Address("0.0.0.0", 4318),
        listen=Address("0.0.0.0", 9464),
        ledger_url="sqlite:////var/lib/otel-llmcost/ledger.db",
    )


def test_gateway_takes_its_ledger_and_token_from_secrets(tmp_path: Path) -> None:
    loaded = _gateway(load_values("gateway"), tmp_path)
    assert loaded.ledger_url == PG_URL
    assert loaded.bearer_token == "s3cret-token"
    assert loaded.budgets is None
    assert loaded.prices is None


def test_everything_loads_with_tls_forwarding_budgets_and_prices(tmp_path: Path) -> None:
    loaded = _gateway(load_values("everything"), tmp_path)
    assert loaded.otlp_grpc == Address("::", 14317)
    assert loaded.otlp_http == Address("::", 14318)
    assert loaded.listen == Address("::", 19464)
    assert loaded.tls == TLSFiles(f"{tmp_path}/tls/tls.crt", f"{tmp_path}/tls/tls.key")
    assert loaded.max_concurrency == 32
    assert loaded.intake_capacity == 65536
    assert loaded.shutdown_timeout_s == 25.0
    assert loaded.forward == (
        ForwardEndpoint(
            "http://tempo.observability.svc:4318/v1/traces",
            "http/protobuf",
            "tempo",
            (("x-scope-orgid", "platform"),),
        ),
        ForwardEndpoint(
            "http://jaeger-collector.observability.svc:4317",
            "grpc",
            "jaeger-collector.observability.svc:4317",
        ),
    )
    assert loaded.budgets == f"{tmp_path}/budgets.yaml"
    policy = load_policy(loaded.budgets)
    assert [b.name for b in policy.budgets] == [
        "org-tokens",
        "org-tokens/team=a",
        "org-tokens/team=b",
        "support",
    ]
    assert policy.store == "redis://redis.llm.svc:6379/0"
    assert [b.limit_tokens for b in policy.budgets[:3]] == [1_000_000, 400_000, 600_000]
    assert loaded.prices is not None
    pricer = Pricer(overrides=loaded.prices)
    million = Usage.from_totals(1_000_000, 1_000_000)
    # (0.30 + 1.20) per million, 15% off.
    assert _total(pricer.price("my-finetune", million, provider="openai")) == Decimal("1.275")
    # The dated gpt-4o price (2.00 + 8.00) from 2026-12-01, 15% off.
    at = datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert _total(pricer.price("gpt-4o", million, provider="openai", at=at)) == Decimal("8.5")


def test_sidecar_values_give_budget_status_and_discounted_prices(tmp_path: Path) -> None:
    rendered = render(load_values("sidecar"))
    config_map = rendered.one("ConfigMap")
    policy_text = yaml.safe_load(config_map["data"]["budgets.yaml"])
    assert policy_text["budgets"][1] == {
        "name": "support-daily", "scope": {"team": "support"}, "per": "user", "window": "24h", "limit_usd": "5.50",
    }  # fmt: skip
    (tmp_path / "budgets.yaml").write_text(config_map["data"]["budgets.yaml"], encoding="utf-8")
    (tmp_path / "prices.yaml").write_text(config_map["data"]["prices.yaml"], encoding="utf-8")
    policy = load_policy(tmp_path / "budgets.yaml")
    assert [(b.name, b.limit_usd) for b in policy.budgets] == [
        ("monthly", Decimal("200")),
        ("support-daily", Decimal("5.50")),
    ]
    pricer = Pricer(overrides=tmp_path / "prices.yaml")
    # prod-chat is gpt-4o ($2.50 per million input tokens), 15% off.
    assert _total(pricer.price("prod-chat", Usage.from_totals(1_000_000, 0), provider="openai")) == Decimal(
        "2.125"
    )
