"""The in-process budget guard: reserve the worst case before the SDK call, settle after.

1. Every budget whose scope matches the call (attribution from baggage, the process's resource,
   the provider and model) gets a charge for the call's *maximum* cost: prompt tokens by our
   offline tokenizer (with a safety margin for providers whose tokenizer we only approximate)
   plus the request's ``max_tokens`` (else the model's catalog output cap; none for embeddings).
2. The store reserves all charges or none. A refused ``block`` budget raises
   :class:`BudgetExceededError` before any network I/O; a refused ``downgrade`` budget retries
   with cheaper models of the same provider and sends the first that fits.
3. After the call the reservation settles to the actual cost (released when the call failed
   before reporting usage). Thresholds reached mark the span (``llmcost.budget.alert``).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from otel_llmcost import semconv as sc
from otel_llmcost._attribution import current_attribution
from otel_llmcost.budgets._policy import Budget, Policy
from otel_llmcost.budgets._store import BudgetState, BudgetStore, Charge, StoreUnavailableError
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Guard
from otel_llmcost.pricing import Pricer, get_pricer
from otel_llmcost.usage import Usage

__all__ = ["BudgetGuard", "Refusal", "Reservation", "WorstCase", "resource_attributes"]

_logger = logging.getLogger(__name__)
_NANO = Decimal("1e-9")
#: Output cap assumed when neither the request nor the catalog says (a conservative reservation).
DEFAULT_MAX_OUTPUT_TOKENS = 4096
#: Our tokenizer is exact for OpenAI models; for others it is an estimate: reserve a margin.
_EXACT_TOKENIZER = frozenset({sc.PROVIDER_OPENAI, sc.PROVIDER_AZURE_OPENAI})
_PROMPT_MARGIN = 1.1
_PROMPT_MARGIN_TOKENS = 8

_RESOURCE_KEYS = {
    sc.SERVICE_NAME: "service",
    sc.DEPLOYMENT_ENVIRONMENT_NAME: "environment",
    sc.DEPLOYMENT_ENVIRONMENT: "environment",
    sc.K8S_NAMESPACE_NAME: "namespace",
}


def resource_attributes(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Scope keys from the process's OpenTelemetry resource (``OTEL_SERVICE_NAME`` and
    ``OTEL_RESOURCE_ATTRIBUTES``), without needing the SDK."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        name = _RESOURCE_KEYS.get(unquote(key.strip()))
        if sep and name and value.strip():
            found.setdefault(name, unquote(value.strip()))
    if env.get("OTEL_SERVICE_NAME", "").strip():
        found["service"] = env["OTEL_SERVICE_NAME"].strip()
    return found


@dataclass(frozen=True)
class WorstCase:
    """What a call can cost at most with one model: ``prompt`` (estimated) + ``output`` tokens."""

    usd_nanos: int
    prompt: int
    output: int
    output_from: str  # "request" (its max_tokens), "catalog", "default", or "none" (embeddings)
    model: str | None

    @property
    def tokens(self) -> int:
        return self.prompt + self.output


@dataclass(frozen=True)
class Refusal:
    budget: Budget
    state: BudgetState | None  # None: refused because the store is down (on_store_error: closed)
    worst: WorstCase | None = None  # the refused charge (None when the store is down)


@dataclass
class Reservation:
    reservation_id: str | None  # None: the store was down and the call went ahead (open)
    charges: tuple[Charge, ...]
    budgets: tuple[Budget, ...]


class BudgetGuard(Guard):
    """Enforces a :class:`Policy` on every instrumented call, through a :class:`BudgetStore`."""

    def __init__(
        self,
        policy: Policy,
        store: BudgetStore,
        *,
        pricer: Pricer | None = None,
        resource: Mapping[str, str] | None = None,
        clock: Any = time.time,
    ) -> None:
        self.policy = policy
        self.store = store
        self._pricer = pricer
        self._resource = dict(resource_attributes() if resource is None else resource)
        self._clock = clock
        self.store_errors = 0

    @property
    def pricer(self) -> Pricer:
        return self._pricer if self._pricer is not None else get_pricer()

    # -- what the instrumentation calls --------------------------------------------------------

    def attributes(
        self, provider: str | None, model: str | None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        attrs = {**self._resource, **current_attribution(), **(extra or {})}
        if provider:
            attrs["provider"] = provider
        if model:
            attrs["model"] = model
        return attrs

    def before(self, call: LLMCall) -> None:
        attrs = self.attributes(call.request.provider, call.request.model)
        budgets = self.policy.matching(attrs)
        if not budgets:
            return
        now = self._clock()
        moment = datetime.fromtimestamp(now, timezone.utc)
        prompt = self._prompt_tokens(call)
        model = call.request.model
        outcome = self._try(call, budgets, attrs, model, prompt, now, moment)
        if isinstance(outcome, Reservation):
            call.reservation = outcome
            return
        refusal = outcome
        if (
            refusal.budget.action == "downgrade"
            and refusal.state is not None
            and model
            and call.request.downgradable
        ):
            for candidate in self._cheaper(refusal.budget, model, call.request.provider):
                outcome = self._try(
                    call, budgets, {**attrs, "model": candidate}, candidate, prompt, now, moment
                )
                if isinstance(outcome, Reservation):
                    call.reservation = outcome
                    call.model_override = candidate
                    return
                refusal = outcome
        raise self._exceeded(refusal, attrs, moment)

    def after(self, call: LLMCall) -> None:
        reservation: Reservation | None = call.reservation
        if reservation is None or reservation.reservation_id is None:
            return
        call.reservation = None
        now = self._clock()
        try:
            if call.usage is None and call.error_type is not None:
                self.store.release(reservation.reservation_id, now=now)
                return
            usd = call.cost.total_nanos if call.cost is not None else 0
            tokens = call.usage.total if call.usage is not None else 0
            self.store.settle(
                reservation.reservation_id, [(c.key, usd, tokens) for c in reservation.charges], now=now
            )
            states = self.store.state([c.key for c in reservation.charges], now=now)
        except StoreUnavailableError as err:
            self._store_error(err)
            return
        for budget, state in zip(reservation.budgets, states, strict=True):
            for threshold in budget.thresholds_reached(state.spent_usd_nanos, state.spent_tokens):
                label = f"{budget.name}:{threshold.severity}"
                if label not in call.budget_alerts:
                    call.budget_alerts.append(label)

    def end_scope(self, *, thread: str | None = None, run: str | None = None) -> dict[str, BudgetState]:
        """Free the keys of ``per: thread`` / ``per: run`` budgets for this thread or run and
        return their final state by budget name."""
        moment = datetime.fromtimestamp(self._clock(), timezone.utc)
        values = {"thread": thread, "run": run}
        found: dict[str, str] = {}
        for budget in self.policy.budgets:
            value = values.get(budget.per or "")
            if value:
                key = budget.instance_key({budget.per or "": value}, moment)
                if key is not None:
                    found[budget.name] = key
        if not found:
            return {}
        states = self.store.state(list(found.values()), now=moment.timestamp())
        self.store.delete(list(found.values()))
        return dict(zip(found, states, strict=True))

    # -- internals -------------------------------------------------------------------------------

    def _prompt_tokens(self, call: LLMCall) -> int:
        estimate = call.estimate_prompt_tokens() or 0
        if call.request.provider in _EXACT_TOKENIZER:
            return estimate
        return math.ceil(estimate * _PROMPT_MARGIN) + _PROMPT_MARGIN_TOKENS

    def _worst_case(self, call: LLMCall, model: str | None, prompt: int) -> WorstCase:
        """What the call can cost at most with ``model``."""
        entry = self.pricer.resolve(model, call.request.provider) if model else None
        if call.request.operation == sc.OP_EMBEDDINGS:
            max_out, source = 0, "none"  # an embedding is billed for its input only
        elif call.request.max_tokens:
            max_out, source = call.request.max_tokens, "request"
        elif entry is not None and entry.max_output_tokens:
            max_out, source = entry.max_output_tokens, "catalog"
        else:
            max_out, source = DEFAULT_MAX_OUTPUT_TOKENS, "default"
        cost = (
            self.pricer.price_entry(entry, Usage(input=prompt, output=max_out)) if entry is not None else None
        )
        return WorstCase(cost.total_nanos if cost is not None else 0, prompt, max_out, source, model)

    def _try(
        self,
        call: LLMCall,
        budgets: Sequence[Budget],
        attrs: Mapping[str, str],
        model: str | None,
        prompt: int,
        now: float,
        moment: datetime,
    ) -> Reservation | Refusal:
        worst = self._worst_case(call, model, prompt)
        pairs = [(b, b.charge(attrs, moment, worst.usd_nanos, worst.tokens)) for b in budgets]
        counted = [(b, c) for b, c in pairs if c is not None]
        charges = tuple(c for _, c in counted)
        counted_budgets = tuple(b for b, _ in counted)
        lease = min(b.lease_seconds for b in counted_budgets)
        try:
            result = self.store.reserve(charges, lease_seconds=lease, now=now)
        except StoreUnavailableError as err:
            self._store_error(err)
            closed = [b for b in counted_budgets if b.enforces and b.on_store_error == "closed"]
            if closed:
                return Refusal(closed[0], None)
            return Reservation(None, charges, counted_budgets)
        if result.ok:
            return Reservation(result.reservation_id, charges, counted_budgets)
        for (budget, charge), state in zip(counted, result.states, strict=True):
            if charge.key == result.refused_key:
                return Refusal(budget, state, worst)
        raise AssertionError(f"store refused unknown key {result.refused_key!r}")

    def _cheaper(self, budget: Budget, model: str, provider: str) -> list[str]:
        """Downgrade candidates the catalog knows at this provider."""
        found = []
        for candidate in self.policy.downgrade_candidates(budget, model):
            entry = self.pricer.resolve(candidate, provider)
            if entry is not None and entry.provider in (provider, *_resold_by(provider)):
                found.append(candidate)
        return found

    def _exceeded(self, refusal: Refusal, attrs: Mapping[str, str], moment: datetime) -> BudgetExceededError:
        budget, state = refusal.budget, refusal.state
        spent_usd = (
            None if state is None else Decimal(state.spent_usd_nanos + state.reserved_usd_nanos) * _NANO
        )
        spent_tokens = None if state is None else state.spent_tokens + state.reserved_tokens
        reason = None
        if state is None:
            reason = "the budget store is unavailable (on_store_error: closed)"
        elif refusal.worst is not None:
            reason = _alone_over_limit(budget, refusal.worst, spent_usd, spent_tokens)
        return BudgetExceededError(
            budget.name,
            scope=budget.scope_for(attrs),
            spent_usd=spent_usd.normalize() if spent_usd is not None else None,
            limit_usd=budget.limit_usd,
            spent_tokens=spent_tokens,
            limit_tokens=budget.limit_tokens,
            resets_at=budget.window.resets_at(moment),
            reason=reason,
        )

    def _store_error(self, err: Exception) -> None:
        self.store_errors += 1
        _logger.warning("otel-llmcost: budget store unavailable (%s); applying on_store_error", err)


def _alone_over_limit(
    budget: Budget, worst: WorstCase, spent_usd: Decimal | None, spent_tokens: int | None
) -> str | None:
    """The refusal's text when the call's own worst case exceeds a limit of the budget, whatever
    was spent before (None otherwise: the budget is simply used up)."""
    limit_nanos = budget.limit_usd_nanos
    if limit_nanos is not None and worst.usd_nanos > limit_nanos:
        used = f"${_plain(spent_usd)} of ${_plain(budget.limit_usd)} spent or reserved"
        alone = f"this call alone may cost ${_plain(Decimal(worst.usd_nanos) * _NANO)}"
        units = " tokens"
    elif budget.limit_tokens is not None and worst.tokens > budget.limit_tokens:
        used = f"{spent_tokens or 0:,} of {budget.limit_tokens:,} tokens used or reserved"
        alone = f"this call alone may use {worst.tokens:,} tokens"
        units = ""
    else:
        return None
    output = f"{worst.output:,} output{units}"
    if worst.output_from == "request":
        output += " (the request's max_tokens)"
    elif worst.output_from in ("catalog", "default"):
        cap = f"{worst.model}'s output cap" if worst.output_from == "catalog" else "a default output cap"
        output += (
            f" ({cap}, reserved because the request sets no max_tokens / max_output_tokens;"
            " setting it lowers the reservation)"
        )
    return f"{used}, and {alone}: {worst.prompt:,} prompt{units} (estimated) + {output}"


def _plain(amount: Decimal | None) -> str:
    """An amount as a plain decimal, never in exponent form (as BudgetExceededError shows it)."""
    if amount is None or amount == 0:
        return "0"
    return format(amount.normalize(), "f")


def _resold_by(provider: str) -> tuple[str, ...]:
    return {
        sc.PROVIDER_AZURE_OPENAI: (sc.PROVIDER_OPENAI,),
        sc.PROVIDER_VERTEX_AI: (sc.PROVIDER_GEMINI,),
    }.get(provider, ())
