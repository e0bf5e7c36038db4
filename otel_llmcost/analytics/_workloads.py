"""The workloads of the synthetic organisation: who calls which model, how, and how wastefully.

Each workload carries one of the habits the insights look for, so a synthetic ledger exercises
every insight: repeated prompts (``faq-bot``), truncated answers (``doc-summarizer``), a premium
model writing one-word labels with a huge ``max_tokens`` (``ticket-triage``), one-hour cache
writes that are never read back (``code-review``), billed failures (``research-agent``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WORKLOADS", "Workload"]


@dataclass(frozen=True)
class Workload:
    feature: str
    team: str
    project: str
    service: str
    provider: str
    model: str
    share: float  # of all calls
    input_tokens: tuple[float, float]  # lognormal (mu, sigma) of the whole prompt
    output_tokens: tuple[float, float]  # lognormal (mu, sigma) of the answer the model wants to give
    max_tokens: int | None = None
    operation: str = "chat"
    reasoning_share: float = 0.0  # reasoning tokens as a share of the output
    cached_prefix: int = 0  # a shared prompt prefix the provider caches
    cache_ttl: str | None = None  # "5m" | "1h": explicit cache writes (Anthropic style); None: automatic
    fresh_prefix: bool = False  # each call's prefix is new (the cache write is never read back)
    duplicate_rate: float = 0.0  # chance a call repeats one of the popular prompts
    popular_prompts: int = 40
    error_rate: float = 0.01
    billed_error_share: float = 0.3  # of errors, those that still bill the prompt (timeouts, cut streams)
    users: int = 10


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "support-chat", "support", "helpdesk", "support-api", "anthropic", "claude-sonnet-4-6", 0.22,
        input_tokens=(7.4, 0.5), output_tokens=(5.8, 0.6), max_tokens=1024,
        cached_prefix=2048, cache_ttl="5m", duplicate_rate=0.03, users=24,
    ),
    Workload(
        "faq-bot", "support", "helpdesk", "support-api", "openai", "gpt-4o-mini", 0.18,
        input_tokens=(6.6, 0.4), output_tokens=(5.0, 0.5), max_tokens=512,
        cached_prefix=1024, duplicate_rate=0.25, users=30,
    ),
    Workload(
        "ticket-triage", "platform", "ops", "triage-worker", "anthropic", "claude-opus-4-7", 0.08,
        input_tokens=(7.0, 0.4), output_tokens=(1.8, 0.3), max_tokens=4096, users=4,
    ),
    Workload(
        "doc-summarizer", "data", "knowledge", "summarizer", "openai", "gpt-4.1", 0.12,
        input_tokens=(8.6, 0.6), output_tokens=(5.9, 0.35), max_tokens=512, users=8,
    ),
    Workload(
        "code-review", "engineering", "devtools", "review-bot", "anthropic", "claude-sonnet-4-6", 0.10,
        input_tokens=(8.9, 0.4), output_tokens=(6.2, 0.5), max_tokens=2048,
        cached_prefix=4096, cache_ttl="1h", fresh_prefix=True, users=12,
    ),
    Workload(
        "research-agent", "research", "insights", "agent-runner", "gcp.gemini", "gemini-2.5-pro", 0.08,
        input_tokens=(8.8, 0.7), output_tokens=(6.8, 0.6), max_tokens=8192, reasoning_share=0.5,
        error_rate=0.04, billed_error_share=0.5, users=6,
    ),
    Workload(
        "sales-email", "sales", "outreach", "email-bot", "openai", "gpt-5-mini", 0.12,
        input_tokens=(6.9, 0.4), output_tokens=(6.0, 0.4), max_tokens=2000, reasoning_share=0.4, users=15,
    ),
    Workload(
        "search-embed", "search", "retrieval", "rag-indexer", "openai", "text-embedding-3-small", 0.10,
        input_tokens=(6.7, 0.8), output_tokens=(0.0, 0.0), operation="embeddings", error_rate=0.005, users=3,
    ),
)  # fmt: skip
