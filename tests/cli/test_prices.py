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


def test_show_prints_every_price_with_its_unit(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "show", "claude-sonnet-4-5")
    assert code == 0
    assert out.splitlines() == [
        "claude-sonnet-4-5 -> anthropic/claude-sonnet-4-5 (chat), USD per 1M tokens",
        "  from 1970-01-01: input $3, cache_read $0.3, cache_write_5m $3.75, cache_write_1h $6, output $15,"
        " reasoning $15",
        "    batch: input $1.5, cache_read $0.15, cache_write_5m $1.875, cache_write_1h $3, output $7.5,"
        " reasoning $7.5",
        "    input > 200,000: input $6, cache_read $0.6, cache_write_5m $7.5, cache_write_1h $12, output $22.5,"
        " reasoning $22.5",
        "    per web_search request: $0.01",
    ]


def test_show_names_audio_prices_where_they_differ(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("prices", "show", "gpt-4o-audio-preview-2025-06-03", "--provider", "openai")
    assert code == 0
    first = out.splitlines()[1]
    assert "input_audio $40" in first and "output_audio $80" in first and "input_image" not in first


def test_list_filters_by_model_text_and_prints_whole_names_into_a_pipe(  # type: ignore[no-untyped-def]
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out = run("prices", "list", "--provider", "aws.bedrock", "--model", "Claude-Sonnet-4-5")
    assert code == 0
    names = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert "aws.bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0" in names
    assert all("claude-sonnet-4-5" in name for name in names) and "…" not in out
    assert out.splitlines()[-1] == f"{len(names)} models"


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


README = Path(__file__).resolve().parents[2] / "README.md"

# README.md's price override example, as the README shows it (its first YAML block that prices
# llama-3.1-70b-vllm): the self-hosted price is $2.536783358701… per 1M tokens.
README_PRICES = next(
    block
    for block in (part.split("```", 1)[0] for part in README.read_text().split("```yaml\n")[1:])
    if "llama-3.1-70b-vllm:" in block
)


def test_self_hosted_cost_is_in_nano_dollars(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prices = tmp_path / "prices.yaml"
    prices.write_text(README_PRICES)
    args = [
        "prices",
        "cost",
        "llama-3.1-70b-vllm",
        "--input",
        "1000",
        "--output",
        "500",
        "--prices",
        str(prices),
    ]
    code, out = run(*args)
    assert code == 0
    # 1000 × $0.000002536783359 = $0.002536783359 -> 0.002536783; 500 × … = 0.0012683916795 -> 0.001268392
    assert out.splitlines()[:3] == [
        "llama-3.1-70b-vllm -> self_hosted/llama-3.1-70b-vllm: $0.003805175",
        "  input                 1000  $0.002536783",
        "  output                 500  $0.001268392",
    ]
    code, out = run(*args, "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["total_usd"], data["breakdown"]) == (
        "0.003805175",
        {"input": "0.002536783", "output": "0.001268392"},
    )
    code, out = run("prices", "show", "llama-3.1-70b-vllm", "--prices", str(prices), "--json")
    assert code == 0
    per_mtok = json.loads(out)["prices"][0]["usd_per_mtok"]
    assert (per_mtok["input"], per_mtok["output"]) == ("2.536783359", "2.536783359")


def test_cost_below_a_nano_dollar_rounds_half_to_even(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  acme/acme-1: {input: 0.0375, output: 0.0025}\n")
    code, out = run(
        "prices", "cost", "acme-1", "--provider", "acme", "--input", "1", "--output", "1",
        "--prices", str(prices), "--json",
    )  # fmt: skip
    assert code == 0
    # 37.5 nano-dollars -> 38 (half to even), 2.5 -> 2, the exact total 40 stays 40
    assert json.loads(out)["total_usd"] == "0.00000004"
    assert json.loads(out)["breakdown"] == {"input": "0.000000038", "output": "0.000000002"}


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
