"""scripts/_catalog_convert.py: LiteLLM entries to our catalog format (docs/pricing-catalog.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scripts.catalog_helpers import (
    chat,
    convert,
    refresh,
    run,
)

# ------------------------------------------------------------------ conversion


@pytest.mark.parametrize(
    ("per_token", "per_million"),
    [
        (3.75e-06, "3.75"),
        (7.5e-08, "0.075"),
        (1.25e-07, "0.125"),
        (1e-05, "10"),
        (2.5e-06, "2.5"),
        (1.1e-06, "1.1"),
        (2.8e-08, "0.028"),
        (6.25e-08, "0.0625"),
        (0.00015, "150"),
        (0.0, "0"),
        (0, "0"),
        # Prices LiteLLM computed in floating point: the noise past 15 digits is dropped.
        (1.5000020000000002e-05, "15.00002"),
        (7.500003000000001e-05, "75.00003"),
        (2.9999900000000002e-06, "2.99999"),
        (2.5000010000000002e-05, "25.00001"),
    ],
)
def test_per_token_float_becomes_exact_decimal(per_token: float, per_million: str) -> None:
    amount = convert.per_mtok(per_token)
    assert amount is not None
    assert convert.dec_str(amount) == per_million


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.000020000000002", "15.00002"),
        ("75.00003000000001", "75.00003"),
        ("0.000283333333333333333", "0.000283333333333333"),
        ("3.75", "3.75"),
        ("0.075", "0.075"),
        ("10", "10"),
        ("1970-01-01", "1970-01-01"),
        ("flex", "flex"),
    ],
)
def test_older_catalog_price_strings_lose_only_float_noise(text: str, expected: str) -> None:
    assert convert.denoised(text) == expected


@pytest.mark.parametrize("value", [True, None, "n/a", -1e-06, float("nan"), float("inf"), [1e-06]])
def test_non_prices_are_not_converted(value: object) -> None:
    assert convert.per_mtok(value) is None


def test_full_entry_maps_every_field(tmp_path: Path) -> None:
    source = {
        "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "x", "mode": "chat"},
        "gpt-test": chat(
            2.5e-06,
            1e-05,
            max_input_tokens=128000,
            max_output_tokens=16384,
            cache_read_input_token_cost=1.25e-07,
            cache_creation_input_token_cost=3.75e-06,
            cache_creation_input_token_cost_above_1hr=6e-06,
            output_cost_per_reasoning_token=1.2e-05,
            input_cost_per_audio_token=4e-05,
            output_cost_per_audio_token=8e-05,
            input_cost_per_image_token=7.5e-08,
            input_cost_per_token_batches=1.25e-06,
            output_cost_per_token_batches=5e-06,
            input_cost_per_token_flex=1.25e-06,
            output_cost_per_token_flex=5e-06,
            cache_read_input_token_cost_flex=6.25e-08,
            input_cost_per_token_priority=4.25e-06,
            output_cost_per_token_priority=1.7e-05,
            input_cost_per_token_above_200k_tokens=5e-06,
            output_cost_per_token_above_200k_tokens=1.5e-05,
            cache_read_input_token_cost_above_200k_tokens=2.5e-07,
            cache_creation_input_token_cost_above_1hr_above_200k_tokens=1.2e-05,
            input_cost_per_token_above_200k_tokens_priority=9e-06,
            input_cost_per_token_above_1000k_tokens=1e-05,
            input_cost_per_token_ultrafast=6e-05,  # no such tier in our format: ignored
            input_cost_per_second=0.001,  # not a token price: ignored
            search_context_cost_per_query={
                "search_context_size_low": 0.02,
                "search_context_size_medium": 0.025,
                "search_context_size_high": 0.03,
            },
            supports_vision=True,
        ),
    }
    code, catalog = run(tmp_path, source)
    assert code == 0
    assert catalog["models"] == {
        "openai/gpt-test": {
            "provider": "openai",
            "model": "gpt-test",
            "mode": "chat",
            "aliases": [],
            "origin": "litellm",
            "max_input_tokens": 128000,
            "max_output_tokens": 16384,
            "prices": [
                {
                    "effective_from": "1970-01-01",
                    "usd_per_mtok": {
                        "input": "2.5",
                        "output": "10",
                        "cache_read": "0.125",
                        "cache_write_5m": "3.75",
                        "cache_write_1h": "6",
                        "reasoning": "12",
                        "input_audio": "40",
                        "output_audio": "80",
                        "input_image": "0.075",
                    },
                    "tiers": {
                        "batch": {"input": "1.25", "output": "5"},
                        "flex": {"input": "1.25", "output": "5", "cache_read": "0.0625"},
                        "priority": {"input": "4.25", "output": "17"},
                    },
                    "long_context": [
                        {
                            "threshold": 200000,
                            "inclusive": False,
                            "usd_per_mtok": {
                                "input": "5",
                                "output": "15",
                                "cache_read": "0.25",
                                "cache_write_1h": "12",
                            },
                            "tiers": {"priority": {"input": "9"}},
                        },
                        {
                            "threshold": 1000000,
                            "inclusive": False,
                            "usd_per_mtok": {"input": "10"},
                            "tiers": {},
                        },
                    ],
                    "per_request": {"web_search": "0.025"},
                }
            ],
        }
    }
    assert catalog["format"] == 1
    assert catalog["source"]["package_version"] == "9.9.9"
    assert catalog["version"] == f"2026.01.01-{catalog['content_sha256'][:8]}"
    assert catalog["content_sha256"] == refresh.content_sha256(catalog["models"])


@pytest.mark.parametrize(
    ("litellm_key", "litellm_provider", "catalog_key"),
    [
        ("gpt-4o", "openai", "openai/gpt-4o"),
        ("gpt-3.5-turbo-instruct", "text-completion-openai", "openai/gpt-3.5-turbo-instruct"),
        ("gemini/gemini-2.5-pro", "gemini", "gcp.gemini/gemini-2.5-pro"),
        ("vertex_ai/claude-3-haiku", "vertex_ai-anthropic_models", "gcp.vertex_ai/claude-3-haiku"),
        ("gemini-2.5-flash", "vertex_ai-language-models", "gcp.vertex_ai/gemini-2.5-flash"),
        (
            "anthropic.claude-opus-4-20250514-v1:0",
            "bedrock_converse",
            "aws.bedrock/anthropic.claude-opus-4-20250514-v1:0",
        ),
        (
            "bedrock/us-east-1/meta.llama3-70b-instruct-v1:0",
            "bedrock",
            "aws.bedrock/us-east-1/meta.llama3-70b-instruct-v1:0",
        ),
        ("azure/gpt-4o", "azure", "azure.ai.openai/gpt-4o"),
        ("azure/gpt-35-turbo-instruct", "azure_text", "azure.ai.openai/gpt-35-turbo-instruct"),
        ("azure_ai/grok-4", "azure_ai", "azure.ai.inference/grok-4"),
        ("xai/grok-4.3", "xai", "x_ai/grok-4.3"),
        ("groq/openai/gpt-oss-120b", "groq", "groq/openai/gpt-oss-120b"),
        ("mistral/mistral-large-latest", "mistral", "mistral_ai/mistral-large-latest"),
        ("deepseek-chat", "deepseek", "deepseek/deepseek-chat"),
        ("together_ai/meta-llama/Llama-3-70b", "together_ai", "together_ai/meta-llama/llama-3-70b"),
        ("sail/moonshotai/Kimi-K3", "sail", "sail/moonshotai/kimi-k3"),
        ("openrouter/anthropic/claude-3-haiku", "openrouter", "openrouter/anthropic/claude-3-haiku"),
        (
            "fireworks_ai/nomic-ai/nomic-embed-text-v1.5",
            "fireworks_ai-embedding-models",
            "fireworks_ai/nomic-ai/nomic-embed-text-v1.5",
        ),
        ("amazon-nova/nova-pro-v1", "amazon_nova", "amazon_nova/nova-pro-v1"),
    ],
)
def test_catalog_key_from_litellm_key(litellm_key: str, litellm_provider: str, catalog_key: str) -> None:
    result = convert.convert_entry(litellm_key, chat(1e-06, 2e-06, litellm_provider))
    assert isinstance(result, convert.Converted)
    assert result.key == catalog_key
    assert result.entry["provider"] == catalog_key.split("/")[0]
    assert result.entry["model"] == catalog_key.split("/", 1)[1]


def test_xai_thresholds_are_inclusive() -> None:
    raw = chat(2e-06, 1e-05, "xai", input_cost_per_token_above_200k_tokens=4e-06)
    result = convert.convert_entry("xai/grok-test", raw)
    assert isinstance(result, convert.Converted)
    assert result.period["long_context"] == [
        {"threshold": 200000, "inclusive": True, "usd_per_mtok": {"input": "4"}, "tiers": {}}
    ]


def test_tiered_pricing_becomes_base_and_long_context() -> None:
    raw = {
        "litellm_provider": "dashscope",
        "mode": "chat",
        "tiered_pricing": [
            {"input_cost_per_token": 2.5e-07, "output_cost_per_token": 2e-06, "range": [256000.0, 1000000.0]},
            {"input_cost_per_token": 5e-08, "output_cost_per_token": 4e-07, "range": [0, 256000.0]},
        ],
    }
    result = convert.convert_entry("dashscope/qwen-flash", raw)
    assert isinstance(result, convert.Converted)
    assert result.period["usd_per_mtok"] == {"input": "0.05", "output": "0.4"}
    assert result.period["long_context"] == [
        {
            "threshold": 256000,
            "inclusive": False,
            "usd_per_mtok": {"input": "0.25", "output": "2"},
            "tiers": {},
        }
    ]


def test_free_only_when_input_and_output_are_zero(tmp_path: Path) -> None:
    source = {
        "omni-moderation-latest": {**chat(0.0, 0.0), "mode": "moderation"},
        "free-embed": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 0},
        "half-free": chat(0.0, 1e-06),
        "paid-embed": {
            "litellm_provider": "openai",
            "mode": "embedding",
            "input_cost_per_token": 2e-08,
            "output_cost_per_token": 0.0,
        },
    }
    _, catalog = run(tmp_path, source)
    free = {key: entry.get("free", False) for key, entry in catalog["models"].items()}
    assert free == {
        "openai/omni-moderation-latest": True,
        "openai/free-embed": True,
        "openai/half-free": False,
        "openai/paid-embed": False,
    }


def test_non_text_modes_and_unpriced_entries_are_skipped(tmp_path: Path) -> None:
    source: dict[str, Any] = {
        f"m-{mode}": {**chat(1e-06, 1e-06), "mode": mode}
        for mode in ("chat", "completion", "responses", "embedding", "moderation", "realtime")
    }
    for mode in (
        "image_generation",
        "audio_transcription",
        "audio_speech",
        "video_generation",
        "rerank",
        "search",
        "ocr",
    ):
        source[f"skip-{mode}"] = {**chat(1e-06, 1e-06), "mode": mode}
    source["no-mode"] = {"litellm_provider": "openai", "input_cost_per_token": 1e-06}
    source["per-second"] = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_second": 0.01}
    source["output-only"] = {"litellm_provider": "openai", "mode": "chat", "output_cost_per_token": 1e-06}
    code, catalog = run(tmp_path, source)
    assert code == 0
    assert sorted(catalog["models"]) == [
        "openai/m-chat",
        "openai/m-completion",
        "openai/m-embedding",
        "openai/m-moderation",
        "openai/m-realtime",
        "openai/m-responses",
    ]


def test_collision_keeps_unprefixed_key_and_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = {
        "deepseek/deepseek-chat": chat(2.8e-07, 4.2e-07, "deepseek", cache_creation_input_token_cost=0.0),
        "deepseek-chat": chat(2.8e-07, 4.2e-07, "deepseek"),
        "Chat-X": chat(1e-06, 1e-06, "deepseek"),
        "chat-x": chat(2e-06, 2e-06, "deepseek"),
    }
    _, catalog = run(tmp_path, source)
    assert catalog["models"]["deepseek/deepseek-chat"]["prices"][0]["usd_per_mtok"] == {
        "input": "0.28",
        "output": "0.42",
    }
    # Among equals the smallest original key wins ("C" < "c").
    assert catalog["models"]["deepseek/chat-x"]["prices"][0]["usd_per_mtok"]["input"] == "1"
    out = capsys.readouterr().out
    assert "deepseek/deepseek-chat <- deepseek-chat (dropped deepseek/deepseek-chat) PRICES DIFFER" in out
    assert "deepseek/chat-x <- Chat-X (dropped chat-x) PRICES DIFFER" in out
