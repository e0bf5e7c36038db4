from __future__ import annotations

from typing import Any

import pytest

from otel_llmcost.pricing._catalog import Catalog


def model(provider: str, name: str, *periods: dict[str, Any], **extra: Any) -> tuple[str, dict[str, Any]]:
    return f"{provider}/{name}", {
        "provider": provider,
        "model": name,
        "mode": "chat",
        "prices": list(periods),
        **extra,
    }


def period(effective_from: str = "1970-01-01", **kwargs: Any) -> dict[str, Any]:
    tiers = kwargs.pop("tiers", {})
    long_context = kwargs.pop("long_context", [])
    per_request = kwargs.pop("per_request", {})
    return {
        "effective_from": effective_from,
        "usd_per_mtok": kwargs,
        "tiers": tiers,
        "long_context": long_context,
        "per_request": per_request,
    }


@pytest.fixture
def catalog() -> Catalog:
    models = dict(
        [
            model(
                "openai",
                "gpt-4o",
                period(
                    input="2.5",
                    output="10",
                    cache_read="1.25",
                    tiers={
                        "batch": {"input": "1.25", "output": "5"},
                        "priority": {"input": "4.25", "output": "17"},
                    },
                ),
            ),
            model("openai", "gpt-4o-mini", period(input="0.15", output="0.6", cache_read="0.075")),
            model("openai", "gpt-4o-2024-05-13", period(input="5", output="15")),
            model("openai", "text-embedding-3-small", period(input="0.02"), mode="embedding"),
            model(
                "anthropic",
                "claude-sonnet-4-5",
                period(
                    input="3",
                    output="15",
                    cache_read="0.3",
                    cache_write_5m="3.75",
                    cache_write_1h="6",
                    long_context=[
                        {
                            "threshold": 200000,
                            "inclusive": False,
                            "usd_per_mtok": {
                                "input": "6",
                                "output": "22.5",
                                "cache_read": "0.6",
                                "cache_write_5m": "7.5",
                                "cache_write_1h": "12",
                            },
                        }
                    ],
                    per_request={"web_search": "0.01"},
                ),
                aliases=["claude-sonnet-4.5-alias"],
            ),
            model(
                "gcp.gemini",
                "gemini-2.5-pro",
                period(
                    input="1.25",
                    output="10",
                    cache_read="0.125",
                    long_context=[
                        {
                            "threshold": 200000,
                            "inclusive": False,
                            "usd_per_mtok": {"input": "2.5", "output": "15"},
                        }
                    ],
                    tiers={"batch": {"input": "0.625", "output": "5"}},
                ),
            ),
            model("gcp.vertex_ai", "gemini-2.5-pro", period(input="1.25", output="10")),
            model(
                "deepseek",
                "deepseek-chat",
                period("1970-01-01", input="0.27", output="1.1", cache_read="0.07"),
                period("2025-09-05", input="0.28", output="0.42", cache_read="0.028"),
            ),
            model(
                "aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", period(input="3.3", output="16.5")
            ),
            model("x_ai", "grok-4.1", period(input="3", output="15")),
            model(
                "together_ai", "meta-llama/llama-3.3-70b-instruct-turbo", period(input="0.88", output="0.88")
            ),
            model("deepinfra", "meta-llama/llama-3.3-70b-instruct-turbo", period(input="0.1", output="0.3")),
            model("ollama", "llama3", free=True),
        ]
    )
    return Catalog(version="test.1", raw=models)
