"""``otel-llmcost prices``: list, show, cost — exit codes and exact JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_llmcost.cli._app import cli


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OTEL_LLMCOST_PRICES", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_cost_json_anthropic_convention_from_semconv_totals(run) -> None:  # type: ignore[no-untyped-def]
    # --input counts everything: 176 uncached + 1024 read + 500 (5m) + 300 (1h) written = 2000
    code, out = run(
        "prices",
        "cost",
        "claude-sonnet-4-5-20250929",
        "--input",
        "2000",
        "--output",
        "50",
        "--cache-read",
        "1024",
        "--cache-write",
        "500",
        "--cache-write-1h",
        "300",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "claude-sonnet-4-5-20250929"
    assert data["provider"] == "anthropic"
    assert data["total_usd"] == "0.0052602"
    assert data["breakdown"] == {
        "input": "0.000528",
        "cache_read": "0.0003072",
        "cache_write_5m": "0.001875",
        "cache_write_1h": "0.0018",
        "output": "0.00075",
    }
    assert data["price_version"].startswith("20")


def test_cost_reasoning_is_part_of_output(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "prices", "cost", "o3", "--input", "1000", "--output", "500", "--reasoning", "400", "--json"
    )
    assert code == 0
    data = json.loads(out)
    # 1000×2 + 100×8 + 400×8 per 1M
    assert data["total_usd"] == "0.006"
    assert data["breakdown"] == {"input": "0.002", "output": "0.0008", "reasoning": "0.0032"}


def test_cost_batch_tier_and_date(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "prices",
        "cost",
        "gpt-4o",
        "--input",
        "1000000",
        "--output",
        "1000000",
        "--service-tier",
        "batch",
        "--at",
        "2026-01-15",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["total_usd"] == "6.25"
    code, out = run(
        "prices",
        "cost",
        "deepseek-chat",
        "--input",
        "1000000",
        "--output",
        "0",
        "--at",
        "2025-01-01",
        "--json",
    )
    assert json.loads(out)["total_usd"] == "0.27"


def test_cost_human_output(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "cost", "gpt-4o-mini", "--input", "1000", "--output", "500")
    assert code == 0
    assert "gpt-4o-mini -> openai/gpt-4o-mini: $0.00045" in out


def test_unknown_model_exits_2_with_closest_names(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "cost", "gpt-4o-mni", "--input", "1", "--output", "1")
    assert code == 2
    assert "unknown model 'gpt-4o-mni'" in out
    assert "gpt-4o-mini" in out


def test_parts_larger_than_total_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "cost", "gpt-4o", "--input", "10", "--output", "1", "--cache-read", "11")
    assert code == 2
    assert "less than its cached" in out


def test_negative_tokens_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    code, _ = run("prices", "cost", "gpt-4o", "--input", "-1", "--output", "1")
    assert code == 2


def test_show_json(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "show", "gemini-2.5-pro", "--provider", "gcp.gemini", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["catalog_key"] == "gcp.gemini/gemini-2.5-pro"
    period = data["prices"][0]
    assert period["usd_per_mtok"]["input"] == "1.25"
    assert period["long_context"][0] == {
        "threshold": 200000,
        "inclusive": False,
        "usd_per_mtok": period["long_context"][0]["usd_per_mtok"],
    }
    assert period["long_context"][0]["usd_per_mtok"]["input"] == "2.5"


def test_list_filters_by_provider(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "list", "--provider", "groq", "--json")
    assert code == 0
    keys = [m["key"] for m in json.loads(out)["models"]]
    assert "groq/llama-3.1-8b-instant" in keys
    assert all(k.startswith("groq/") for k in keys)


def test_overrides_file_and_bad_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "prices.yaml"
    good.write_text("models:\n  acme/acme-1: {input: 1, output: 2}\n")
    code, out = run(
        "prices",
        "cost",
        "acme-1",
        "--provider",
        "acme",
        "--input",
        "1000000",
        "--output",
        "0",
        "--prices",
        str(good),
        "--json",
    )
    assert code == 0
    assert json.loads(out)["total_usd"] == "1"
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  acme-1: {input: lots}\n")
    code, out = run("prices", "cost", "acme-1", "--input", "1", "--output", "1", "--prices", str(bad))
    assert code == 2
    assert f"{bad}: models.acme-1.input: not a number" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["prices", "--help"],
        ["prices", "cost", "--help"],
        ["prices", "list", "--help"],
        ["prices", "show", "--help"],
    ],
)
def test_help(run, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    code, out = run(*args)
    assert code == 0
    assert "Usage:" in out
