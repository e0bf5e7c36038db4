"""Pricing: the bundled catalog, user overrides, model resolution and exact cost.

>>> from otel_llmcost.pricing import get_pricer
>>> from otel_llmcost.usage import Usage
>>> cost = get_pricer().price("gpt-4o-mini", Usage(input=1000, output=500), provider="openai")
>>> str(cost.total)
'0.00045'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from otel_llmcost.environment_variables import OTEL_LLMCOST_PRICES, env_str
from otel_llmcost.exceptions import UnknownModelError
from otel_llmcost.pricing._catalog import BUCKETS, SERVICE_TIERS, Catalog, ModelEntry, load_default_catalog
from otel_llmcost.pricing._engine import STANDARD_TIER, Cost, compute_cost, positive_usd, to_nanos
from otel_llmcost.pricing._nanos import Femtos, cost_nanos, price_femtos, price_nanos
from otel_llmcost.pricing._overrides import Overrides, load_overrides
from otel_llmcost.pricing._resolve import Resolver, normalize_provider
from otel_llmcost.usage import Usage, UsageCounts

__all__ = [
    "BUCKETS",
    "SERVICE_TIERS",
    "STANDARD_TIER",
    "Cost",
    "Femtos",
    "ModelEntry",
    "Pricer",
    "cost_nanos",
    "estimate_cost",
    "get_pricer",
    "normalize_provider",
    "positive_usd",
    "set_pricer",
    "to_nanos",
]

_logger = logging.getLogger(__name__)
_NO_DISCOUNT = Decimal(0)


class Pricer:
    """Resolves model names and prices usage. Thread-safe; build once, share.

    ``catalog`` defaults to the bundled one; ``overrides`` (an :class:`Overrides` or a YAML path)
    adds models, discounts and deployment names and is validated here — a bad file raises
    :class:`~otel_llmcost.exceptions.ConfigError` naming file, key and reason.
    """

    def __init__(
        self, catalog: Catalog | None = None, overrides: Overrides | str | Path | None = None
    ) -> None:
        base = catalog if catalog is not None else load_default_catalog()
        if isinstance(overrides, (str, Path)):
            overrides = load_overrides(overrides)
        self.overrides = overrides or Overrides()
        self.catalog = self.overrides.apply(base) if overrides is not None else base
        self.version = base.version + (f"+overrides.{self.overrides.digest}" if overrides is not None else "")
        self._resolver = Resolver(self.catalog, self.overrides.deployments)
        self._discounts = self.overrides.discounts
        # (model, provider) -> entry: pricing runs once per span, resolution once per name.
        self._entries: dict[tuple[str, str | None], ModelEntry | None] = {}

    def resolve(self, model: str, provider: str | None = None) -> ModelEntry | None:
        """The catalog entry ``model`` means at ``provider``, or ``None`` when unknown."""
        cache_key = (model, provider)
        try:
            return self._entries[cache_key]
        except KeyError:
            pass
        key = self._resolver.resolve(model, provider)
        entry = self.catalog.get(key) if key is not None else None
        if len(self._entries) > 4096:  # bounded: model names come from untrusted spans
            self._entries.clear()
        self._entries[cache_key] = entry
        return entry

    def resolve_first(self, models: Iterable[str | None], provider: str | None = None) -> ModelEntry | None:
        """The first of ``models`` that resolves (e.g. response model, then request model)."""
        for model in models:
            if model:
                entry = self.resolve(model, provider)
                if entry is not None:
                    return entry
        return None

    def require(self, model: str, provider: str | None = None) -> ModelEntry:
        """Like :meth:`resolve` but raises :class:`UnknownModelError` with the closest names."""
        entry = self.resolve(model, provider)
        if entry is None:
            raise UnknownModelError(model, provider, self._resolver.suggestions(model))
        return entry

    def _discount(self, entry: ModelEntry) -> Decimal:
        return self._discounts.get(entry.provider, _NO_DISCOUNT) if self._discounts else _NO_DISCOUNT

    def price_entry(
        self,
        entry: ModelEntry,
        usage: Usage,
        *,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> Cost | None:
        """The cost of ``usage`` at ``entry``; ``None`` if no price was in force at ``at``."""
        discount = self._discount(entry)
        return compute_cost(
            entry, usage, at=at, service_tier=service_tier, price_version=self.version, discount=discount
        )

    def price_nanos(
        self,
        entry: ModelEntry,
        counts: UsageCounts,
        *,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> tuple[str, str, Sequence[int]] | None:
        """:meth:`price_entry` as the ledger stores it: (catalog key, service tier, nano-dollars:
        the total, input, output, cache read, cache write, reasoning, request fees); ``counts``
        are a :class:`Usage`'s fields in order. The collector's path: no ``Decimal`` for the usual
        prices, and the same figures to the nano-dollar."""
        discount = self._discount(entry)
        return price_nanos(
            entry, counts, at=at, service_tier=service_tier, discount=discount, price_version=self.version
        )

    def price_femtos(
        self,
        entry: ModelEntry,
        counts: UsageCounts,
        *,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> tuple[str, str, int | None, Femtos] | None:
        """:meth:`price_entry` in integer femto-dollars (10**15 per USD): (catalog key, service tier,
        long-context threshold, the total, input, output, cache read, cache write, reasoning and
        request fees), exactly ``Cost``'s figures, so ``femtos / 10**15`` equals ``float()`` of
        them. ``None`` where only :meth:`price_entry` can tell (a discount, a price finer than a
        femto-dollar, no price in force at ``at`` …). The in-process agent's path: no ``Decimal``
        for the usual prices."""
        discount = self._discount(entry)
        return price_femtos(entry, counts, at=at, service_tier=service_tier, discount=discount)

    def price(
        self,
        model: str | Iterable[str | None],
        usage: Usage,
        *,
        provider: str | None = None,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> Cost | None:
        """The cost of ``usage`` on ``model`` (or the first resolvable of several names).

        ``None`` means *unpriced* (unknown model, or no price in force at ``at``) — never $0.
        """
        entry = (
            self.resolve(model, provider) if isinstance(model, str) else self.resolve_first(model, provider)
        )
        if entry is None:
            return None
        return self.price_entry(entry, usage, at=at, service_tier=service_tier)

    def suggestions(self, model: str, limit: int = 5) -> list[str]:
        return self._resolver.suggestions(model, limit)

    def entries(self, provider: str | None = None) -> Iterator[ModelEntry]:
        wanted = normalize_provider(provider)
        for key in sorted(self.catalog.keys()):
            if wanted is not None and not key.startswith(wanted + "/"):
                continue
            entry = self.catalog.get(key)
            if entry is not None:
                yield entry


_default: Pricer | None = None
_default_lock = threading.Lock()


def get_pricer() -> Pricer:
    """The process-wide pricer: bundled catalog plus ``OTEL_LLMCOST_PRICES`` overrides, built once.

    A bad override file is logged and ignored here (the in-process agent must never break the
    app); the collector and the CLI build their own :class:`Pricer` and refuse to start instead.
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                path = env_str(OTEL_LLMCOST_PRICES)
                try:
                    _default = Pricer(overrides=path)
                except Exception as err:  # reported, then list prices apply
                    _logger.error("otel-llmcost: ignoring price overrides %s: %s", path, err)
                    _default = Pricer()
    return _default


def set_pricer(pricer: Pricer | None) -> None:
    """Replace the process-wide pricer (``None`` rebuilds it from the environment on next use)."""
    global _default
    with _default_lock:
        _default = pricer


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD cost of a call, for code written against simple trackers; ``None`` for unknown models.

    ``prompt_tokens`` and ``completion_tokens`` are totals priced at the standard input and
    output rates (no cache or reasoning split). Use :class:`Pricer` for exact ``Decimal`` costs.
    """
    cost = get_pricer().price(model, Usage(input=prompt_tokens, output=completion_tokens))
    return float(cost.total) if cost is not None else None
