"""One pass over a window's rows, in time order, folding each into per-(model, feature) figures.

Every insight needs either an order (was this prompt seen an hour ago? was that cache write read
back?) or a distribution (the 95th percentile of output tokens), which a SQL ``GROUP BY`` cannot
give; so the rows are read once, as narrow tuples (:meth:`LedgerBackend.scan`), and folded here.
The loop is the hot path of ``otel-llmcost insights``: plain tuples, local names, no calls per
row beyond the dictionary lookups it needs.

**Duplicates.** A successful call whose model saw the same prompt fingerprint less than
``duplicate_window_ns`` after the call that (re)filled a response cache: that is, a cache with that
TTL, filled by a miss and not refreshed by hits, would have answered it.

**Unread cache writes.** A feature's calls to one model share their cached prefixes, and the
spans do not say which prefix a write or a read covered; so a write counts as read back when a
later call of the same model and feature reads at least as many cached tokens within the write's
TTL (5 minutes, or 1 hour when the write has 1-hour tokens). Writes still inside their TTL when the
window ends are undecided and not counted either way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["COLUMNS", "TRUNCATION_REASONS", "ScopeStats", "WindowStats", "fold"]

#: What the fold reads of each row, in this order.
COLUMNS = (
    "start_ns", "model", "provider", "feature", "status", "finish_reason", "error_type",
    "prompt_fingerprint", "max_tokens", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "input_audio_tokens",
    "output_audio_tokens", "cost_nanos", "cost_cache_write_nanos",
)  # fmt: skip
#: ``finish_reason`` values meaning the answer hit its output cap (OpenAI, Anthropic, Gemini).
TRUNCATION_REASONS = frozenset({"length", "max_tokens", "MAX_TOKENS"})
_FIVE_MINUTES_NS = 300_000_000_000
_ONE_HOUR_NS = 3_600_000_000_000
Pending = tuple[int, int, int, int]  # (start_ns, tokens written, TTL ns, write cost nanos)


@dataclass(slots=True, eq=False)
class ScopeStats:
    """What one (model, feature) did in the window. Money in nano-dollars."""

    provider: str | None
    requests: int = 0
    cost: int = 0
    # input, cache_read, cache_write_5m, cache_write_1h, output, reasoning, input_audio, output_audio
    tokens: list[int] = field(default_factory=lambda: [0] * 8)
    failed: int = 0
    failed_cost: int = 0
    error_types: dict[str, int] = field(default_factory=dict)
    truncated: int = 0
    truncated_cost: int = 0
    outputs: list[int] = field(default_factory=list)  # all output tokens of each successful call
    capped_outputs: list[int] = field(default_factory=list)  # ... of those that set max_tokens
    max_tokens: list[int] = field(default_factory=list)  # ... and the max_tokens they set
    fingerprinted: int = 0
    duplicates: int = 0
    duplicate_cost: int = 0
    repeated: set[str] = field(default_factory=set)  # fingerprints seen as duplicates
    cache_writes: int = 0
    unread_writes: int = 0
    unread_tokens: int = 0
    unread_cost: int = 0
    pending: deque[Pending] = field(default_factory=deque)

    def cache_event(self, start: int, read: int, write_5m: int, write_1h: int, write_cost: int) -> None:
        pending = self.pending
        if read:
            kept: deque[Pending] = deque()
            for entry in pending:
                if start - entry[0] > entry[2]:
                    self._unread(entry)
                elif entry[1] > read:
                    kept.append(entry)
            self.pending = pending = kept
        while pending and start - pending[0][0] > pending[0][2]:
            self._unread(pending.popleft())  # an idle stream's list stays short
        if write_5m or write_1h:
            self.cache_writes += 1
            ttl = _ONE_HOUR_NS if write_1h else _FIVE_MINUTES_NS
            pending.append((start, write_5m + write_1h, ttl, write_cost))

    def _unread(self, entry: Pending) -> None:
        self.unread_writes += 1
        self.unread_tokens += entry[1]
        self.unread_cost += entry[3]

    def close(self, end_ns: int) -> None:
        """Settle the writes whose TTL ended by ``end_ns``; later ones stay undecided."""
        for entry in self.pending:
            if entry[0] + entry[2] <= end_ns:
                self._unread(entry)
        self.pending.clear()


@dataclass
class WindowStats:
    scopes: dict[tuple[str | None, str | None], ScopeStats]
    requests: int
    cost: int
    input_tokens: int  # all input, cached included
    cache_read_tokens: int
    hours: dict[int, tuple[int, int]]  # hours since the epoch -> (spend, tokens), hours with calls


def fold(rows: Iterable[tuple[Any, ...]], end_ns: int, duplicate_window_ns: int) -> WindowStats:
    """Fold ``rows`` (:data:`COLUMNS`, by start time) of a window ending at ``end_ns``."""
    scopes: dict[tuple[str | None, str | None], ScopeStats] = {}
    fills: dict[tuple[str | None, str], int] = {}  # (model, fingerprint) -> when the cache was filled
    hours: dict[int, list[int]] = {}  # hours since the epoch -> [spend, tokens], for the anomalies
    truncation = TRUNCATION_REASONS
    for (start, model, provider, feature, status, finish, error_type, fingerprint, max_tokens, uncached,
         read, write_5m, write_1h, output, reasoning, audio_in, audio_out, cost, write_cost) in rows:  # fmt: skip
        hour = hours.get(start // _ONE_HOUR_NS)
        if hour is None:
            hour = hours[start // _ONE_HOUR_NS] = [0, 0]
        hour[0] += cost
        hour[1] += uncached + read + write_5m + write_1h + audio_in + output + reasoning + audio_out
        key = (model, feature)
        scope = scopes.get(key)
        if scope is None:
            scope = scopes[key] = ScopeStats(provider)
        scope.requests += 1
        scope.cost += cost
        tokens = scope.tokens
        tokens[0] += uncached
        tokens[1] += read
        tokens[2] += write_5m
        tokens[3] += write_1h
        tokens[4] += output
        tokens[5] += reasoning
        tokens[6] += audio_in
        tokens[7] += audio_out
        if status == "error":
            scope.failed += 1
            scope.failed_cost += cost
            kind = error_type or "unknown"
            scope.error_types[kind] = scope.error_types.get(kind, 0) + 1
        else:
            produced = output + reasoning + audio_out
            scope.outputs.append(produced)
            if max_tokens is not None:
                scope.capped_outputs.append(produced)
                scope.max_tokens.append(max_tokens)
            if finish in truncation:
                scope.truncated += 1
                scope.truncated_cost += cost
            if fingerprint is not None:
                scope.fingerprinted += 1
                seen = (model, fingerprint)
                filled = fills.get(seen)
                if filled is not None and start - filled < duplicate_window_ns:
                    scope.duplicates += 1
                    scope.duplicate_cost += cost
                    scope.repeated.add(fingerprint)
                else:
                    fills[seen] = start
        if read or write_5m or write_1h:
            scope.cache_event(start, read, write_5m, write_1h, write_cost)
    requests = cost_total = inputs = reads = 0
    for scope in scopes.values():
        scope.close(end_ns)
        requests += scope.requests
        cost_total += scope.cost
        t = scope.tokens
        inputs += t[0] + t[1] + t[2] + t[3] + t[6]
        reads += t[1]
    return WindowStats(
        scopes, requests, cost_total, inputs, reads, {h: (v[0], v[1]) for h, v in hours.items()}
    )
