"""Exceptions that otel-llmcost raises on purpose.

Only :class:`BudgetExceededError` ever reaches application code from the instrumentation; the
others are raised by explicit API calls (pricing, configuration, usage parsing).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

__all__ = [
    "BudgetExceededError",
    "ConfigError",
    "InvalidUsageError",
    "LLMCostError",
    "LedgerNotFoundError",
    "LedgerUnavailableError",
    "UnknownModelError",
]


class LLMCostError(Exception):
    """Base class of every otel-llmcost error."""


class InvalidUsageError(LLMCostError, ValueError):
    """Token counts that cannot be a real bill: negative, non-integer, absurd or inconsistent.

    ``reason`` is a short stable code (``negative_tokens``, ``absurd_tokens``, ``not_integer``,
    ``inconsistent_tokens``) used as the collector's rejection reason label.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownModelError(LLMCostError, LookupError):
    """A model name that resolves to no catalog entry. ``suggestions`` are the closest known names."""

    def __init__(self, model: str, provider: str | None, suggestions: list[str]) -> None:
        where = f" (provider {provider})" if provider else ""
        hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown model {model!r}{where}{hint}")
        self.model = model
        self.provider = provider
        self.suggestions = suggestions


class ConfigError(LLMCostError, ValueError):
    """A configuration file or value that cannot be used. Names the file, the key and the reason."""

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None) -> None:
        parts = [p for p in (file, key) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)
        self.file = file
        self.key = key
        self.reason = reason


class LedgerUnavailableError(ConfigError):
    """The ledger cannot be opened now: its database server is unreachable or refuses the
    connection. A runtime failure (the CLI exits 1), unlike the bad URL a plain
    :class:`ConfigError` means (exit 2). It subclasses :class:`ConfigError` only so that callers
    written before it existed still refuse cleanly; catch it first. ``reason`` names the
    (redacted) URL and the cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, key="ledger")


class LedgerNotFoundError(LedgerUnavailableError):
    """Opened only to read it, the URL holds no otel-llmcost ledger, and nothing was created or
    changed there. ``foreign``: something else is there (another application's database, an
    empty file), rather than nothing (no file, no schema)."""

    def __init__(self, reason: str, *, foreign: bool = False) -> None:
        super().__init__(reason)
        self.foreign = foreign


class BudgetExceededError(LLMCostError):
    """A budget whose action is ``block`` would be exceeded by this call; raised before any I/O."""

    def __init__(
        self,
        budget: str,
        *,
        scope: dict[str, str],
        spent_usd: Decimal | None,
        limit_usd: Decimal | None,
        spent_tokens: int | None = None,
        limit_tokens: int | None = None,
        resets_at: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        if reason is not None:
            amount = reason
        elif limit_usd is not None:
            amount = f"${_plain(spent_usd)} of ${_plain(limit_usd)} spent or reserved"
        else:
            amount = f"{spent_tokens or 0:,} of {limit_tokens or 0:,} tokens used or reserved"
        scope_text = ", ".join(f"{k}={v}" for k, v in sorted(scope.items())) or "all calls"
        reset = f"; resets {resets_at.isoformat()}" if resets_at else ""
        super().__init__(f"budget {budget!r} ({scope_text}) would be exceeded: {amount}{reset}")
        self.budget = budget
        self.scope = scope
        self.spent_usd = spent_usd
        self.limit_usd = limit_usd
        self.spent_tokens = spent_tokens
        self.limit_tokens = limit_tokens
        self.resets_at = resets_at
        self.reason = reason


def _plain(amount: Decimal | None) -> str:
    """An amount as a plain decimal, never in exponent form (``1E-7`` is ``0.0000001``)."""
    if amount is None:
        return "0"
    return "0" if amount == 0 else format(amount.normalize(), "f")
