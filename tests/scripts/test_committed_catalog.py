"""The committed catalog: well-formed, generated from the committed supplement, user models present."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.scripts.catalog_helpers import (
    CATALOG,
    PLAIN_DECIMAL,
    SUPPLEMENT,
    refresh,
)

# ------------------------------------------------------------------ the committed catalog

BUCKETS = {
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_audio",
    "output_audio",
    "input_image",
}
TEXT_MODES = {"chat", "completion", "responses", "embedding", "moderation", "realtime"}


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    catalog: dict[str, Any] = json.loads(CATALOG.read_text())
    return catalog


def _check_table(table: dict[str, str], where: str) -> None:
    assert set(table) <= BUCKETS, where
    for bucket, price in table.items():
        assert isinstance(price, str) and PLAIN_DECIMAL.match(price), f"{where}.{bucket}={price!r}"
        # No floating-point noise (15.000020000000002): at most 15 significant digits.
        assert len(Decimal(price).normalize().as_tuple().digits) <= 15, f"{where}.{bucket}={price!r}"


def test_committed_catalog_is_well_formed(committed: dict[str, Any]) -> None:
    assert committed["format"] == 1
    assert committed["content_sha256"] == refresh.content_sha256(committed["models"])
    assert (
        committed["version"]
        == f"{committed['generated'].replace('-', '.')}-{committed['content_sha256'][:8]}"
    )
    assert committed["source"]["name"] == "litellm"
    assert CATALOG.stat().st_size < 3_000_000
    for key, entry in committed["models"].items():
        assert key == key.lower() == f"{entry['provider']}/{entry['model']}", key
        assert entry["mode"] in TEXT_MODES, key
        assert all(alias == alias.lower() for alias in entry["aliases"]), key
        dates = [period["effective_from"] for period in entry["prices"]]
        assert dates == sorted(set(dates)) and dates, key
        for period in entry["prices"]:
            assert set(period) == {
                "effective_from",
                "usd_per_mtok",
                "tiers",
                "long_context",
                "per_request",
            }, key
            _check_table(period["usd_per_mtok"], key)
            assert entry.get("free") or "input" in period["usd_per_mtok"], key
            assert set(period["tiers"]) <= {"batch", "flex", "priority"}, key
            for tier in period["tiers"].values():
                _check_table(tier, key)
            thresholds = [lc["threshold"] for lc in period["long_context"]]
            assert thresholds == sorted(set(thresholds)), key
            for lc in period["long_context"]:
                assert isinstance(lc["inclusive"], bool)
                _check_table(lc["usd_per_mtok"], key)
                for tier in lc["tiers"].values():
                    _check_table(tier, key)
            for fee in period["per_request"].values():
                assert PLAIN_DECIMAL.match(fee), key


def test_committed_catalog_was_generated_from_the_committed_supplement(committed: dict[str, Any]) -> None:
    assert committed["supplement"]["sha256"] == hashlib.sha256(SUPPLEMENT.read_bytes()).hexdigest(), (
        "scripts/catalog_supplement.yaml changed: run scripts/refresh_catalog.py"
    )


USER_NAMED = [
    "openai/gpt-4o",
    "openai/gpt-4o-2024-05-13",
    "openai/gpt-4o-mini",
    "openai/gpt-4.1",
    "openai/gpt-4",
    "openai/gpt-5",
    "openai/gpt-5.1",
    "openai/gpt-5.2",
    "openai/o1",
    "openai/o3",
    "openai/o3-mini",
    "openai/o4-mini",
    "openai/text-embedding-3-small",
    "openai/text-embedding-3-large",
    "openai/text-embedding-ada-002",
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-sonnet-4-5-20250929",
    "anthropic/claude-opus-4-5",
    "anthropic/claude-sonnet-4-6",
    "anthropic/claude-opus-4-6",
    "anthropic/claude-opus-4-20250514",
    "anthropic/claude-opus-4-1-20250805",
    "anthropic/claude-sonnet-4-20250514",
    "anthropic/claude-3-7-sonnet-20250219",
    "anthropic/claude-3-5-sonnet-20241022",
    "anthropic/claude-3-5-sonnet-20240620",
    "anthropic/claude-3-5-haiku-20241022",
    "anthropic/claude-3-opus-20240229",
    "anthropic/claude-3-sonnet-20240229",
    "anthropic/claude-3-haiku-20240307",
    "gcp.gemini/gemini-2.5-pro",
    "gcp.gemini/gemini-2.5-flash",
    "gcp.gemini/gemini-2.5-flash-lite",
    "gcp.gemini/gemini-embedding-001",
    "gcp.gemini/gemini-3-pro-preview",
    "gcp.gemini/gemini-3-flash-preview",
    "gcp.gemini/gemini-3.1-pro-preview",
    "x_ai/grok-4",
    "x_ai/grok-4.1",
    "x_ai/grok-4-1-fast-reasoning",
    "x_ai/grok-4-1-fast-non-reasoning",
    "groq/llama-3.1-8b-instant",
    "groq/llama-3.1-70b-versatile",
    "groq/llama-3.3-70b-versatile",
    "deepseek/deepseek-chat",
    "deepseek/deepseek-reasoner",
    "mistral_ai/mistral-large-latest",
    "mistral_ai/mistral-small-latest",
]


@pytest.mark.parametrize("key", USER_NAMED)
def test_user_named_model_resolves(committed: dict[str, Any], key: str) -> None:
    assert key in committed["models"]


@pytest.mark.parametrize(
    ("alias", "key"),
    [
        ("anthropic/claude-opus-4", "anthropic/claude-opus-4-20250514"),
        ("anthropic/claude-opus-4-1", "anthropic/claude-opus-4-1-20250805"),
        ("anthropic/claude-sonnet-4-0", "anthropic/claude-sonnet-4-20250514"),
        ("anthropic/claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku-20241022"),
        ("anthropic/claude-3-haiku", "anthropic/claude-3-haiku-20240307"),
        ("gcp.gemini/gemini-3-pro", "gcp.gemini/gemini-3-pro-preview"),
        ("x_ai/grok-4-0709", "x_ai/grok-4"),
        ("x_ai/grok-4-1", "x_ai/grok-4.1"),
    ],
)
def test_user_named_alias_resolves(committed: dict[str, Any], alias: str, key: str) -> None:
    provider, model = alias.split("/", 1)
    entry = committed["models"][key]
    assert entry["provider"] == provider and model in entry["aliases"]


def _current(committed: dict[str, Any], key: str) -> dict[str, Any]:
    period: dict[str, Any] = committed["models"][key]["prices"][-1]
    return period


def test_committed_prices_of_note(committed: dict[str, Any]) -> None:
    assert _current(committed, "openai/gpt-4o")["usd_per_mtok"] == {
        "input": "2.5",
        "output": "10",
        "cache_read": "1.25",
    }
    assert _current(committed, "openai/gpt-4o-2024-05-13")["usd_per_mtok"] == {"input": "5", "output": "15"}
    opus_4 = _current(committed, "anthropic/claude-opus-4-20250514")
    assert opus_4["usd_per_mtok"]["cache_write_1h"] == "30"
    assert opus_4["tiers"]["batch"]["input"] == "7.5"
    pro = _current(committed, "gcp.gemini/gemini-2.5-pro")
    assert pro["long_context"][0]["threshold"] == 200000
    assert pro["long_context"][0]["inclusive"] is False
    assert pro["long_context"][0]["usd_per_mtok"]["input"] == "2.5"
    for model in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview"):
        assert "input" in _current(committed, f"gcp.gemini/{model}")["tiers"]["batch"], model
    sonnet_45 = _current(committed, "anthropic/claude-sonnet-4-5")
    assert sonnet_45["long_context"][0]["usd_per_mtok"] == {
        "input": "6",
        "output": "22.5",
        "cache_read": "0.6",
        "cache_write_5m": "7.5",
        "cache_write_1h": "12",
    }
    assert _current(committed, "x_ai/grok-4.1")["usd_per_mtok"] == {
        "input": "3",
        "output": "15",
        "cache_read": "0.75",
    }
    chat_periods = committed["models"]["deepseek/deepseek-chat"]["prices"]
    assert [(p["effective_from"], p["usd_per_mtok"]["input"]) for p in chat_periods] == [
        ("1970-01-01", "0.27"),
        ("2025-09-05", "0.28"),
    ]
    assert committed["models"]["openai/omni-moderation-latest"].get("free") is True
