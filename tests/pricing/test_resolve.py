"""Resolution rules on a crafted catalog: exact steps only, no guess that misprices."""

from __future__ import annotations

import pytest

from otel_llmcost.pricing._catalog import Catalog
from otel_llmcost.pricing._resolve import Resolver, candidates, normalize_provider


@pytest.fixture
def resolver(catalog: Catalog) -> Resolver:
    return Resolver(
        catalog, deployments={"Prod-Chat": "gpt-4o-mini", "eu-embed": "openai/text-embedding-3-small"}
    )


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        ("gpt-4o", None, "openai/gpt-4o"),
        ("GPT-4o", "openai", "openai/gpt-4o"),
        ("gpt-4o-mini-2024-07-18", None, "openai/gpt-4o-mini"),
        ("gpt-4o-2024-08-06", None, "openai/gpt-4o"),
        ("gpt-4o-2024-05-13", None, "openai/gpt-4o-2024-05-13"),  # its own, dearer snapshot
        ("openai/gpt-4o-mini", None, "openai/gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "anthropic", "anthropic/claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "gcp.vertex_ai", "anthropic/claude-sonnet-4-5"),
        ("claude-sonnet-4.5", None, "anthropic/claude-sonnet-4-5"),
        ("claude-sonnet-4.5-alias", None, "anthropic/claude-sonnet-4-5"),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "aws.bedrock",
            "aws.bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            None,
            "aws.bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("gemini-2.5-pro", "gcp.vertex_ai", "gcp.vertex_ai/gemini-2.5-pro"),
        ("gemini-2.5-pro", "gcp.gemini", "gcp.gemini/gemini-2.5-pro"),
        ("models/gemini-2.5-pro", None, "gcp.gemini/gemini-2.5-pro"),
        (
            "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro",
            "gcp.vertex_ai",
            "gcp.vertex_ai/gemini-2.5-pro",
        ),
        ("vertex_ai/gemini-2.5-pro", None, "gcp.vertex_ai/gemini-2.5-pro"),
        ("grok-4-1", "x_ai", "x_ai/grok-4.1"),
        ("prod-chat", "azure.ai.openai", "openai/gpt-4o-mini"),
        ("eu-embed", None, "openai/text-embedding-3-small"),
        ("gpt-4o", "azure.ai.openai", "openai/gpt-4o"),  # reseller at list price
        ("deepseek-chat", "openai", "deepseek/deepseek-chat"),  # mislabelled provider, first-party model
    ],
)
def test_resolves(resolver: Resolver, model: str, provider: str | None, expected: str) -> None:
    assert resolver.resolve(model, provider) == expected


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-mini-turbo", None),  # a prefix of nothing we know is not "gpt-4o-mini"
        ("gpt-4", None),  # not in this catalog: never a longer or shorter neighbour
        ("gpt-4o-super", None),
        ("meta-llama/llama-3.3-70b-instruct-turbo", None),  # two resellers, two prices: ambiguous
        ("meta-llama/llama-3.3-70b-instruct-turbo", "vllm"),  # self-hosted: not a reseller's price
        ("gpt-4o", "vllm"),
        ("", None),
    ],
)
def test_unresolvable_is_none(resolver: Resolver, model: str, provider: str | None) -> None:
    assert resolver.resolve(model, provider) is None


def test_reseller_name_resolves_at_that_reseller(resolver: Resolver) -> None:
    assert resolver.resolve("meta-llama/llama-3.3-70b-instruct-turbo", "together_ai") == (
        "together_ai/meta-llama/llama-3.3-70b-instruct-turbo"
    )


def test_candidates_strip_one_suffix_at_a_time() -> None:
    names = [c for c, _ in candidates("us.anthropic.claude-opus-4-5-20251101-v1:0")]
    assert names[:4] == [
        "us.anthropic.claude-opus-4-5-20251101-v1:0",
        "us.anthropic.claude-opus-4.5-20251101-v1:0",
        "us.anthropic.claude-opus-4-5-20251101",
        "us.anthropic.claude-opus-4.5-20251101",
    ]
    assert "claude-opus-4-5" in names
    assert "claude-opus-4" not in names


def test_suggestions_are_close_names(resolver: Resolver) -> None:
    assert resolver.suggestions("gpt-4o-mni")[0] == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("OpenAI", "openai"),
        ("gemini", "gcp.gemini"),
        ("az.ai.openai", "azure.ai.openai"),
        ("vertex_ai", "gcp.vertex_ai"),
        ("bedrock", "aws.bedrock"),
        ("xai", "x_ai"),
        (None, None),
        ("vllm", "vllm"),
    ],
)
def test_normalize_provider(raw: str | None, expected: str | None) -> None:
    assert normalize_provider(raw) == expected
