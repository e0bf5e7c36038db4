"""Price override files: additions, replacements, dated changes, discounts, deployments, errors."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from otel_llmcost.exceptions import ConfigError
from otel_llmcost.pricing import Pricer
from otel_llmcost.pricing._catalog import Catalog
from otel_llmcost.pricing._overrides import SECONDS_PER_MONTH, self_hosted_price
from otel_llmcost.usage import Usage, as_counts

D = Decimal


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    return path


def test_adds_model_discount_and_deployment(tmp_path: Path, catalog: Catalog) -> None:
    path = write(
        tmp_path,
        """
discounts:
  openai: 15%
  anthropic: 0.1
deployments:
  Prod-Chat: gpt-4o
models:
  my-finetune:
    provider: openai
    base: gpt-4o-mini
    input: 0.30
    output: 1.20
""",
    )
    pricer = Pricer(catalog, overrides=path)
    ft = pricer.price(
        "my-finetune", Usage(input=1_000_000, output=1_000_000, cache_read=1_000_000), provider="openai"
    )
    assert ft is not None
    # 0.30 + 1.20 + cache_read copied from base (0.075), all 15% off
    assert ft.total == D("1.575") * D("0.85")
    assert ft.model == "openai/my-finetune"
    chat = pricer.price("prod-chat", Usage(input=1_000_000), provider="azure.ai.openai")
    assert chat is not None and chat.total == D("2.125")
    claude = pricer.price("claude-sonnet-4-5", Usage(output=1_000_000), provider="anthropic")
    assert claude is not None and claude.total == D("13.5")
    assert pricer.version.startswith("test.1+overrides.")


def test_replacing_without_date_replaces_history(tmp_path: Path, catalog: Catalog) -> None:
    path = write(tmp_path, "models:\n  deepseek/deepseek-chat: {input: 1, output: 2}\n")
    pricer = Pricer(catalog, overrides=path)
    old = pricer.price("deepseek-chat", Usage(input=1_000_000), at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert old is not None and old.total == D(1)


def test_dated_change_keeps_earlier_prices(tmp_path: Path, catalog: Catalog) -> None:
    path = write(
        tmp_path,
        """
models:
  openai/gpt-4o:
    effective_from: 2026-12-01
    input: 2
    output: 8
""",
    )
    pricer = Pricer(catalog, overrides=path)
    usage = Usage(input=1_000_000, output=1_000_000)
    before = pricer.price("gpt-4o", usage, at=datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc))
    after = pricer.price("gpt-4o", usage, at=datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))
    assert before is not None and before.total == D("12.5")
    assert after is not None and after.total == D("10")


def test_self_hosted_price_from_infrastructure_cost(tmp_path: Path, catalog: Catalog) -> None:
    # $10,000/month for a 4xA100 box serving 2,500 tokens/s, busy 100% of a 730-hour month:
    # $1.52207001522070015…e-6 a token, rounded to whole femto-dollars
    per_token = self_hosted_price(D(10000), D(2500), D(1))
    assert per_token == D("0.000001522070015")
    assert SECONDS_PER_MONTH == 2_628_000
    path = write(
        tmp_path,
        """
models:
  llama-3.1-70b-vllm:
    provider: self_hosted
    self_hosted: {monthly_cost_usd: 10000, tokens_per_second: 2500}
""",
    )
    pricer = Pricer(catalog, overrides=path)
    per_million = pricer.require("llama-3.1-70b-vllm", "self_hosted").periods[0].table.per_million()
    assert (per_million["input"], per_million["output"]) == (D("1.522070015"), D("1.522070015"))
    cost = pricer.price("llama-3.1-70b-vllm", Usage(input=6_570_000, output=0), provider="self_hosted")
    # 6,570,000 tokens = 1/1000 of the month's capacity (2500 * 2,628,000 = 6.57e9): $10 less
    # the rounding of the price (0.2e-15 a token)
    assert cost is not None and cost.total == D("9.99999999855")
    # Whole femto-dollars: the collector's integer path prices it, to the same figures
    entry = pricer.require("llama-3.1-70b-vllm", "self_hosted")
    femtos = pricer.price_femtos(entry, as_counts(Usage(input=6_570_000)))
    assert femtos is not None and femtos[3][0] == 9_999_999_998_550_000


@pytest.mark.parametrize(
    ("args", "per_token"),
    [
        ((D(10000), D(2500), D("0.6")), D("0.000002536783359")),  # …358701166… rounds up
        ((D(1), D(1), D(1)), D("0.000000380517504")),  # …503805… rounds up
        ((D(2628), D(1000), D(1)), D("0.000001")),  # exact already
        ((D(0), D(2500), D(1)), D(0)),
        ((D(1), D(10) ** 12, D(1)), D(0)),  # 3.8e-19: below half a femto-dollar
    ],
)
def test_self_hosted_price_is_whole_femto_dollars(
    args: tuple[Decimal, Decimal, Decimal], per_token: Decimal
) -> None:
    price = self_hosted_price(*args)
    assert price == per_token
    assert price.as_tuple().exponent == -15


def test_self_hosted_price_too_small_to_round_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    path = write(
        tmp_path,
        "models:\n  m:\n    self_hosted: {monthly_cost_usd: 1, tokens_per_second: 1000000000000}\n",
    )
    with pytest.raises(ConfigError) as err:
        Pricer(catalog, overrides=path)
    assert str(err.value) == (
        f"{path}: models.m.self_hosted: works out below $0.000000001 per million tokens "
        "(it would price calls at $0): check monthly_cost_usd and tokens_per_second"
    )


def test_free_model(tmp_path: Path, catalog: Catalog) -> None:
    pricer = Pricer(catalog, overrides=write(tmp_path, "models:\n  local/llama3:8b: {free: true}\n"))
    cost = pricer.price("llama3:8b", Usage(input=5), provider="local")
    assert cost is not None and cost.free and cost.total == 0


@pytest.mark.parametrize(
    ("text", "key", "reason_part"),
    [
        ("models:\n  m: {input: -1}\n", "models.m.input", "non-negative"),
        ("models:\n  m: {input: abc}\n", "models.m.input", "not a number"),
        ("models:\n  m: {output: 1}\n", "models.m", "needs an input price"),
        ("models:\n  m: {input: 1, colour: red}\n", "models.m", "unknown field"),
        ("models:\n  m: {base: no-such-model}\n", "models.m.base", "not in the catalog"),
        ("models:\n  m: {input: 1, effective_from: yesterday}\n", "models.m.effective_from", "ISO date"),
        (
            "models:\n  m: {self_hosted: {monthly_cost_usd: 10}}\n",
            "models.m.self_hosted.tokens_per_second",
            "required",
        ),
        ("discounts:\n  openai: 120%\n", "discounts.openai", "below 100%"),
        ("deployments:\n  prod: 5\n", "deployments.prod", "must name a model"),
        ("colour: red\n", None, "unknown key"),
        ("models: [1, 2]\n", "models", "must be a mapping"),
        ("models:\n  m: {input: 1\n", None, "invalid YAML at line"),
    ],
)
def test_invalid_files_name_file_key_and_reason(
    tmp_path: Path, catalog: Catalog, text: str, key: str | None, reason_part: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        Pricer(catalog, overrides=path)
    assert err.value.file == str(path)
    assert err.value.key == key
    assert reason_part in err.value.reason
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Pricer(catalog, overrides=tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "models:\n  x: {provider: openai, input: 1e30, output: 1}\n",
            "models.x.input: must be at most 1,000,000 (USD per million tokens or per request), got '1e30'",
        ),
        (
            "models:\n  x: {provider: openai, self_hosted: {monthly_cost_usd: 1e12, tokens_per_second: 1e-7}}\n",
            "models.x.self_hosted: works out above $1,000,000 per million tokens: check monthly_cost_usd and "
            "tokens_per_second",
        ),
        (
            "models:\n  x: {provider: openai, input: 1, effective_from: 2026-13-01}\n",
            "invalid YAML value: month must be in 1..12",
        ),
        ("models: [1\n", "invalid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_unusable_files_are_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        Pricer(overrides=str(path))
    assert str(caught.value) == f"{path}: {message}"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_bytes(b"models: {}\n\xff\xfe")
    with pytest.raises(ConfigError) as caught:
        Pricer(overrides=str(path))
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 0xff at offset 11)"
