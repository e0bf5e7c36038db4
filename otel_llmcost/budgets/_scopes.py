"""Thread and run budgets: token limits per conversation thread or agent run, freed when it ends.

:class:`ThreadBudgets` is a small registry for code that tracks threads itself (check before a
call, consume after, ``end_scope`` when the thread ends). Policy budgets with ``per: thread`` or
``per: run`` are enforced by the guard; :func:`end_scope` frees their keys and returns the final
usage. Keys also expire after a week idle, so abandoned scopes never accumulate.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.budgets._policy import SCOPE_IDLE_SECONDS, escape_value
from otel_llmcost.budgets._store import BudgetStore
from otel_llmcost.exceptions import BudgetExceededError

__all__ = ["ThreadBudgets", "ThreadUsage"]


@dataclass(frozen=True)
class ThreadUsage:
    thread_id: str
    max_tokens: int
    prompt_tokens: int
    completion_tokens: int
    request_count: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def remaining(self) -> int:
        return max(0, self.max_tokens - self.total_tokens)

    @property
    def is_exhausted(self) -> bool:
        return self.total_tokens >= self.max_tokens


class ThreadBudgets:
    """Per-thread token budgets over a store (in memory by default; Redis to share them)."""

    def __init__(
        self,
        max_tokens_per_thread: int,
        *,
        store: BudgetStore | None = None,
        prefix: str = "thread",
        idle_seconds: float = SCOPE_IDLE_SECONDS,
    ) -> None:
        if max_tokens_per_thread <= 0:
            raise ValueError(f"max_tokens_per_thread must be positive, got {max_tokens_per_thread}")
        self.max_tokens = max_tokens_per_thread
        self.store: BudgetStore = store if store is not None else MemoryStore()
        self._prefix = prefix
        self._idle = idle_seconds

    def _keys(self, thread_id: str) -> tuple[str, str, str]:
        """Three counters (the store counts tokens): prompt tokens, completion tokens, requests."""
        base = f"{self._prefix}:{escape_value(thread_id)}"
        return f"{base}:prompt", f"{base}:completion", f"{base}:requests"

    def usage(self, thread_id: str) -> ThreadUsage | None:
        """The thread's usage so far, ``None`` for a thread never seen (or ended)."""
        prompt, completion, requests = self.store.state(self._keys(thread_id))
        if requests.spent_tokens == 0:
            return None
        return ThreadUsage(
            thread_id, self.max_tokens, prompt.spent_tokens, completion.spent_tokens, requests.spent_tokens
        )

    def has_budget(self, thread_id: str) -> bool:
        return self.usage(thread_id) is not None

    def check(self, thread_id: str, estimated_tokens: int = 0) -> ThreadUsage:
        """Raise :class:`BudgetExceededError` when the thread is exhausted or the estimate would
        take it over; otherwise its usage (zero for a new thread)."""
        usage = self.usage(thread_id) or ThreadUsage(thread_id, self.max_tokens, 0, 0, 0)
        if usage.is_exhausted or usage.total_tokens + estimated_tokens > self.max_tokens:
            raise BudgetExceededError(
                self._prefix,
                scope={"thread": thread_id},
                spent_usd=None,
                limit_usd=None,
                spent_tokens=usage.total_tokens,
                limit_tokens=self.max_tokens,
            )
        return usage

    def consume(self, thread_id: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> ThreadUsage:
        """Record one request's tokens; returns the updated usage (which may exceed the limit:
        the call already happened)."""
        if prompt_tokens < 0 or completion_tokens < 0:
            raise ValueError("token counts must not be negative")
        prompt_key, completion_key, requests_key = self._keys(thread_id)
        self.store.add(prompt_key, 0, prompt_tokens, ttl_seconds=self._idle)
        self.store.add(completion_key, 0, completion_tokens, ttl_seconds=self._idle)
        self.store.add(requests_key, 0, 1, ttl_seconds=self._idle)
        usage = self.usage(thread_id)
        assert usage is not None
        return usage

    def end_scope(self, thread_id: str) -> ThreadUsage | None:
        """The thread's final usage, and its state freed; ``None`` when there was none."""
        final = self.usage(thread_id)
        self.store.delete(self._keys(thread_id))
        return final
