"""Token counts of a span without building a :class:`Usage`: the normalizer's fast path.

:func:`otel_llmcost.usage.from_attributes` is the one reader of the emitters' token attributes.
:func:`usage_counts` returns exactly its :class:`Usage`'s fields, as a tuple, and computes them
itself only for the common shape: every count under its GenAI semconv name, a plain
non-negative int within :data:`MAX_TOKENS_PER_CALL`, and the parts adding up. Any other span
goes through ``from_attributes``, so it gets the same counts or raises the same
:class:`InvalidUsageError`. A frozen ``Usage`` costs more to build than reading the counts
(eleven ``object.__setattr__`` calls and a validation pass), and a ledger row and its price
need only the numbers. A test compares the two on arbitrary attributes.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any, Final

from otel_llmcost import semconv as sc
from otel_llmcost.usage import (
    _CACHE_READ_NAMES,
    _CACHE_WRITE_NAMES,
    _INPUT_NAMES,
    _OUTPUT_NAMES,
    _REASONING_NAMES,
    MAX_TOKENS_PER_CALL,
    Usage,
    UsageCounts,
    from_attributes,
)

__all__ = ["usage_counts"]

# from_attributes' counts, each read from the first of its names present: total input, total
# output, cache read, cache write, of which 1h, of which 5m, reasoning, input audio, output
# audio, web search requests.
_NAMES: Final = (
    _INPUT_NAMES, _OUTPUT_NAMES, _CACHE_READ_NAMES, _CACHE_WRITE_NAMES,
    (sc.LLMCOST_USAGE_CACHE_WRITE_1H, sc.ANTHROPIC_CACHE_WRITE_1H), (sc.ANTHROPIC_CACHE_WRITE_5M,), _REASONING_NAMES,
    (sc.LLMCOST_USAGE_INPUT_AUDIO, sc.OPENINFERENCE_PROMPT_AUDIO),
    (sc.LLMCOST_USAGE_OUTPUT_AUDIO, sc.OPENINFERENCE_COMPLETION_AUDIO), (sc.LLMCOST_USAGE_WEB_SEARCH,),
)  # fmt: skip
_FIRST: Final = tuple(names[0] for names in _NAMES)
# When none of these is present, each count can only come from its first name.
_OTHERS: Final = frozenset(name for names in _NAMES for name in names[1:])
_MAX = MAX_TOKENS_PER_CALL
_usage_fields = attrgetter(*(field.name for field in fields(Usage)))


def usage_counts(attrs: dict[str, Any], provider: str | None, scope_name: str | None) -> UsageCounts | None:
    """The fields of ``from_attributes(attrs, provider=provider, scope_name=scope_name)`` in order, or ``None``
    when the span reports no usage. ``attrs`` are from ``read_attributes`` (no ``None`` values)."""
    if not _OTHERS.isdisjoint(attrs):
        return _slow(attrs, provider, scope_name)
    values = tuple(map(attrs.get, _FIRST))
    total_in, total_out, cache_read, cache_write, write_1h, write_5m, reasoning, in_audio, out_audio, web = (
        values
    )
    if total_in is None and total_out is None:
        return None
    for value in values:
        if value is not None and (value.__class__ is not int or value < 0 or value > _MAX):
            return _slow(attrs, provider, scope_name)  # it has the error to raise, or the float to accept
    total_in = total_in or 0
    total_out = total_out or 0
    cache_read = cache_read or 0
    cache_write = cache_write or 0
    write_1h = write_1h or 0
    in_audio = in_audio or 0
    if write_1h > cache_write:
        return _slow(attrs, provider, scope_name)
    if write_5m is None or write_5m + write_1h != cache_write:
        write_5m = cache_write - write_1h
    # from_attributes' reading of the input count: exclusive for OpenLIT's Anthropic spans, and
    # whenever an inclusive count would be smaller than its parts.
    if (scope_name == sc.OPENLIT_SCOPE and provider == sc.PROVIDER_ANTHROPIC) or (
        cache_read + cache_write + in_audio > total_in
    ):
        total_in += cache_read + cache_write
    reasoning = reasoning or 0
    out_audio = out_audio or 0
    carved_in = cache_read + cache_write + in_audio
    carved_out = reasoning + out_audio
    if carved_in > total_in or carved_out > total_out:
        return _slow(attrs, provider, scope_name)
    estimated = attrs.get(sc.LLMCOST_USAGE_ESTIMATED) is True
    return (
        total_in - carved_in, cache_read, write_5m, write_1h, total_out - carved_out, reasoning, in_audio, out_audio,
        0, web or 0, estimated,
    )  # fmt: skip


def _slow(attrs: dict[str, Any], provider: str | None, scope_name: str | None) -> UsageCounts | None:
    usage = from_attributes(attrs, provider=provider, scope_name=scope_name)
    return None if usage is None else _usage_fields(usage)
