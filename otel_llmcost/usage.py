"""Normalized token usage: one :class:`Usage` with exclusive buckets, whoever reported it.

Providers disagree on what their counters include; this module is the one place that knows:

* **OpenAI** (chat, responses, embeddings, legacy completions): ``prompt_tokens``/``input_tokens``
  *include* cached, cache-written and audio tokens; ``completion_tokens``/``output_tokens``
  *include* reasoning and audio tokens. Cache writes with 30-minute retention go to the short-TTL
  bucket (``cache_write_5m``), 12-hour retention to the long-TTL bucket (``cache_write_1h``).
* **Anthropic**: ``input_tokens`` *excludes* cache reads and cache writes; cache writes are split
  into 5-minute and 1-hour TTLs (``cache_creation.ephemeral_{5m,1h}_input_tokens``); thinking is
  part of ``output_tokens``.
* **Gemini**: ``prompt_token_count`` *includes* ``cached_content_token_count``;
  ``thoughts_token_count`` is *outside* ``candidates_token_count`` but billed as output;
  ``tool_use_prompt_token_count`` is outside the prompt count but billed as input.
* **Span attributes** (GenAI semconv and older emitters): ``gen_ai.usage.input_tokens`` includes
  cached input and ``output_tokens`` includes reasoning — except OpenLIT's Anthropic spans, which
  copy Anthropic's exclusive ``input_tokens`` verbatim.

Every reader returns a :class:`Usage` whose buckets do not overlap, so pricing is a plain sum.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost._sdk_fields import count as _count
from otel_llmcost._sdk_fields import counts as _count_each
from otel_llmcost._sdk_fields import first as _get
from otel_llmcost._sdk_fields import list_field as _entries
from otel_llmcost.exceptions import InvalidUsageError

__all__ = [
    "MAX_TOKENS_PER_CALL",
    "Usage",
    "UsageCounts",
    "as_counts",
    "from_anthropic",
    "from_attributes",
    "from_gemini",
    "from_openai",
]

#: Larger than any context window plus output cap on sale today (10M); a count above it is a bug
#: or an attack, not a bill.
MAX_TOKENS_PER_CALL = 100_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call in exclusive buckets (no bucket counts a token twice)."""

    input: int = 0
    """Uncached text input."""
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    """Text output, excluding reasoning and audio."""
    reasoning: int = 0
    input_audio: int = 0
    output_audio: int = 0
    input_image: int = 0
    web_search_requests: int = 0
    estimated: bool = False
    """True when the counts come from our tokenizer, not from the provider."""

    def __init__(
        self,
        input: int = 0,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        output: int = 0,
        reasoning: int = 0,
        input_audio: int = 0,
        output_audio: int = 0,
        input_image: int = 0,
        web_search_requests: int = 0,
        estimated: bool = False,
    ) -> None:
        # Written out (the dataclass keeps an __init__ it is given): the generated one sets each
        # field through object.__setattr__ and a __post_init__ read them all back to check them,
        # for every call priced and every span the collector reads. The checks run first, on
        # the arguments, with the per-field ones only when something is wrong.
        counts = (input, cache_read, cache_write_5m, cache_write_1h, output, reasoning, input_audio,
                  output_audio, input_image, web_search_requests)  # fmt: skip
        if not (
            _INT_ONLY.issuperset(map(type, counts))
            and min(counts) >= 0
            and max(counts) <= MAX_TOKENS_PER_CALL
        ):
            _reject(counts)
        _set_input(self, input)
        _set_cache_read(self, cache_read)
        _set_cache_write_5m(self, cache_write_5m)
        _set_cache_write_1h(self, cache_write_1h)
        _set_output(self, output)
        _set_reasoning(self, reasoning)
        _set_input_audio(self, input_audio)
        _set_output_audio(self, output_audio)
        _set_input_image(self, input_image)
        _set_web_search_requests(self, web_search_requests)
        _set_estimated(self, estimated)

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_input(self) -> int:
        """All input tokens, as ``gen_ai.usage.input_tokens`` counts them (cache included)."""
        return self.input + self.cache_read + self.cache_write + self.input_audio + self.input_image

    @property
    def total_output(self) -> int:
        """All output tokens, as ``gen_ai.usage.output_tokens`` counts them (reasoning included)."""
        return self.output + self.reasoning + self.output_audio

    @property
    def total(self) -> int:
        return self.total_input + self.total_output

    @property
    def is_empty(self) -> bool:
        return self.total == 0 and self.web_search_requests == 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input=self.input + other.input,
            cache_read=self.cache_read + other.cache_read,
            cache_write_5m=self.cache_write_5m + other.cache_write_5m,
            cache_write_1h=self.cache_write_1h + other.cache_write_1h,
            output=self.output + other.output,
            reasoning=self.reasoning + other.reasoning,
            input_audio=self.input_audio + other.input_audio,
            output_audio=self.output_audio + other.output_audio,
            input_image=self.input_image + other.input_image,
            web_search_requests=self.web_search_requests + other.web_search_requests,
            estimated=self.estimated or other.estimated,
        )

    @classmethod
    def from_totals(
        cls,
        input_tokens: int,
        output_tokens: int,
        *,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        reasoning: int = 0,
        input_audio: int = 0,
        output_audio: int = 0,
        input_image: int = 0,
        web_search_requests: int = 0,
        estimated: bool = False,
    ) -> Usage:
        """Build from inclusive totals (the semconv convention): input includes cache, audio and
        image tokens; output includes reasoning and audio tokens."""
        if type(input_tokens) is not int or input_tokens < 0:
            _check_int("input_tokens", input_tokens)
        if type(output_tokens) is not int or output_tokens < 0:
            _check_int("output_tokens", output_tokens)
        carved_in = cache_read + cache_write_5m + cache_write_1h + input_audio + input_image
        carved_out = reasoning + output_audio
        if carved_in > input_tokens:
            raise InvalidUsageError(
                f"input_tokens={input_tokens} is less than its cached/audio/image parts ({carved_in})",
                reason="inconsistent_tokens",
            )
        if carved_out > output_tokens:
            raise InvalidUsageError(
                f"output_tokens={output_tokens} is less than its reasoning/audio parts ({carved_out})",
                reason="inconsistent_tokens",
            )
        return cls(  # positionally: this runs for every call priced
            input_tokens - carved_in, cache_read, cache_write_5m, cache_write_1h, output_tokens - carved_out,
            reasoning, input_audio, output_audio, input_image, web_search_requests, estimated,
        )  # fmt: skip

    def to_attributes(self) -> dict[str, int | bool]:
        """Span attributes (GenAI semconv, inclusive totals, plus our extra buckets when non-zero)."""
        attrs: dict[str, int | bool] = {
            sc.GEN_AI_USAGE_INPUT_TOKENS: self.total_input,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: self.total_output,
        }
        if self.cache_read:
            attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cache_read
        if self.cache_write:
            attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = self.cache_write
        if self.cache_write_1h:
            attrs[sc.LLMCOST_USAGE_CACHE_WRITE_1H] = self.cache_write_1h
        if self.reasoning:
            attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning
        if self.input_audio:
            attrs[sc.LLMCOST_USAGE_INPUT_AUDIO] = self.input_audio
        if self.output_audio:
            attrs[sc.LLMCOST_USAGE_OUTPUT_AUDIO] = self.output_audio
        if self.web_search_requests:
            attrs[sc.LLMCOST_USAGE_WEB_SEARCH] = self.web_search_requests
        if self.estimated:
            attrs[sc.LLMCOST_USAGE_ESTIMATED] = True
        return attrs


_COUNT_FIELDS = tuple(f.name for f in fields(Usage) if f.name != "estimated")
_INT_ONLY = frozenset({int})
# The slots' own setters, which a frozen dataclass's __setattr__ does not stand in front of.
(_set_input, _set_cache_read, _set_cache_write_5m, _set_cache_write_1h, _set_output, _set_reasoning,
 _set_input_audio, _set_output_audio, _set_input_image, _set_web_search_requests, _set_estimated) = (
    Usage.__dict__[f.name].__set__ for f in fields(Usage)
)  # fmt: skip


def _reject(counts: tuple[Any, ...]) -> None:
    """Raise for the first count of ``counts`` (a :class:`Usage`'s, in field order) that is not
    a plausible token count."""
    for name, value in zip(_COUNT_FIELDS, counts, strict=True):
        if type(value) is not int:
            raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
        if value < 0:
            raise InvalidUsageError(f"{name} is negative ({value})", reason="negative_tokens")
        if value > MAX_TOKENS_PER_CALL:
            raise InvalidUsageError(
                f"{name}={value} exceeds the per-call maximum {MAX_TOKENS_PER_CALL}",
                reason="absurd_tokens",
            )


#: A :class:`Usage`'s fields in order, ``Usage(*counts)``: where building one costs too much.
UsageCounts = tuple[int, int, int, int, int, int, int, int, int, int, bool]
#: The :data:`UsageCounts` of a :class:`Usage`, in one C call.
as_counts: Callable[[Usage], UsageCounts] = operator.attrgetter(*(f.name for f in fields(Usage)))

# --- helpers ------------------------------------------------------------------------------------


def _check_int(name: str, value: object) -> None:
    if type(value) is not int:
        raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
    if value < 0:
        raise InvalidUsageError(f"{name} is negative ({value})", reason="negative_tokens")


# --- provider response objects --------------------------------------------------------------------


def from_openai(usage: Any) -> Usage:
    """OpenAI usage from chat completions, responses, embeddings or legacy completions.

    Accepts the SDK's pydantic object or the wire dict.
    """
    # Chat / embeddings / completions say prompt_/completion_; the Responses API says input_/output_.
    total_in = _count(usage, "prompt_tokens", "input_tokens")
    total_out = _count(usage, "completion_tokens", "output_tokens")
    in_details = _get(usage, "prompt_tokens_details", "input_tokens_details")
    out_details = _get(usage, "completion_tokens_details", "output_tokens_details")
    cache_write, cache_read, input_audio, input_image = _count_each(
        in_details, "cache_write_tokens", "cached_tokens", "audio_tokens", "image_tokens"
    )
    write_long = _count(_get(in_details, "cache_write_tokens_details"), "ttl_12h_tokens")
    if write_long > cache_write:
        raise InvalidUsageError(
            f"12h cache writes ({write_long}) exceed cache_write_tokens ({cache_write})",
            reason="inconsistent_tokens",
        )
    reasoning, output_audio = _count_each(out_details, "reasoning_tokens", "audio_tokens")
    return Usage.from_totals(
        total_in,
        total_out,
        cache_read=cache_read,
        cache_write_5m=cache_write - write_long,
        cache_write_1h=write_long,
        input_audio=input_audio,
        input_image=input_image,
        reasoning=reasoning,
        output_audio=output_audio,
    )


def from_anthropic(usage: Any) -> Usage:
    """Anthropic ``Message.usage`` (or the cumulative usage of a stream), object or dict.

    Beta ``usage.iterations`` entries of type ``compaction`` are extra sampling steps that are
    billed but left out of the top-level counts; they are added.
    """
    total = _anthropic_counts(usage)
    for entry in _entries(usage, "iterations"):
        if _get(entry, "type") == "compaction":
            total = total + _anthropic_counts(entry)
    return total


def _anthropic_counts(usage: Any) -> Usage:
    cache_write_total = _count(usage, "cache_creation_input_tokens")
    breakdown = _get(usage, "cache_creation")
    write_1h = _count(breakdown, "ephemeral_1h_input_tokens")
    if write_1h > cache_write_total:
        raise InvalidUsageError(
            f"1h cache writes ({write_1h}) exceed cache_creation_input_tokens ({cache_write_total})",
            reason="inconsistent_tokens",
        )
    # The total is authoritative; whatever is not 1h is the default 5-minute TTL.
    write_5m = cache_write_total - write_1h
    output_total = _count(usage, "output_tokens")
    thinking = _count(_get(usage, "output_tokens_details"), "thinking_tokens")
    if thinking > output_total:
        raise InvalidUsageError(
            f"thinking_tokens={thinking} exceeds output_tokens={output_total}", reason="inconsistent_tokens"
        )
    return Usage(
        input=_count(usage, "input_tokens"),
        cache_read=_count(usage, "cache_read_input_tokens"),
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        output=output_total - thinking,
        reasoning=thinking,
        web_search_requests=_count(_get(usage, "server_tool_use"), "web_search_requests"),
    )


def _modality_count(usage: Any, names: tuple[str, str], modality: str) -> int:
    total = 0
    for entry in _entries(usage, *names):
        name = _get(entry, "modality")
        name = getattr(name, "value", name)  # an enum in the SDK, a string on the wire
        if isinstance(name, str) and name.upper() == modality:
            total += _count(entry, "token_count", "tokenCount")
    return total


def from_gemini(usage_metadata: Any) -> Usage:
    """Gemini ``usage_metadata`` (SDK object, snake_case) or ``usageMetadata`` (wire, camelCase)."""
    prompt = _count(usage_metadata, "prompt_token_count", "promptTokenCount")
    cached = _count(usage_metadata, "cached_content_token_count", "cachedContentTokenCount")
    candidates = _count(usage_metadata, "candidates_token_count", "candidatesTokenCount")
    thoughts = _count(usage_metadata, "thoughts_token_count", "thoughtsTokenCount")
    tool_prompt = _count(usage_metadata, "tool_use_prompt_token_count", "toolUsePromptTokenCount")
    prompt_details = ("prompt_tokens_details", "promptTokensDetails")
    cache_details = ("cache_tokens_details", "cacheTokensDetails")
    out_details = ("candidates_tokens_details", "candidatesTokensDetails")
    # Audio priced apart: uncached audio in the prompt, audio in the candidates.
    audio_in = max(
        0,
        _modality_count(usage_metadata, prompt_details, "AUDIO")
        - _modality_count(usage_metadata, cache_details, "AUDIO"),
    )
    audio_out = _modality_count(usage_metadata, out_details, "AUDIO")
    return Usage.from_totals(
        prompt + tool_prompt,
        candidates + thoughts,
        cache_read=cached,
        input_audio=audio_in,
        reasoning=thoughts,
        output_audio=audio_out,
    )


# --- span attributes from any emitter -------------------------------------------------------------


def _attr_count(attrs: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        if name in attrs:
            value = attrs[name]
            if isinstance(value, bool):
                raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
            if isinstance(value, float):
                if not value.is_integer():
                    raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
                value = int(value)
            if isinstance(value, str):
                try:
                    value = int(value)
                except ValueError:
                    raise InvalidUsageError(
                        f"{name} must be an integer, got {value!r}", reason="not_integer"
                    ) from None
            if not isinstance(value, int):
                raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
            if value < 0:
                raise InvalidUsageError(f"{name} is negative ({value})", reason="negative_tokens")
            return value
    return None


_INPUT_NAMES = (
    sc.GEN_AI_USAGE_INPUT_TOKENS,
    sc.OPENLLMETRY_PROMPT_TOKENS,
    sc.LLM_USAGE_PROMPT_TOKENS,
    sc.OPENINFERENCE_PROMPT,
)
_OUTPUT_NAMES = (
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.OPENLLMETRY_COMPLETION_TOKENS,
    sc.LLM_USAGE_COMPLETION_TOKENS,
    sc.OPENINFERENCE_COMPLETION,
)
_CACHE_READ_NAMES = (
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS,
    sc.LLM_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.OPENINFERENCE_CACHE_READ,
    sc.OPENLIT_CACHE_READ,
)
_CACHE_WRITE_NAMES = (
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.OPENLLMETRY_CACHE_CREATION_INPUT_TOKENS,
    sc.LLM_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.OPENINFERENCE_CACHE_WRITE,
)
_REASONING_NAMES = (
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    sc.OPENLLMETRY_REASONING_TOKENS,
    sc.OPENINFERENCE_REASONING,
    sc.OPENLIT_REASONING_TOKENS,
    sc.LLM_USAGE_REASONING_TOKENS,
)


def has_usage_attributes(attrs: Mapping[str, Any]) -> bool:
    """Whether any emitter's token-count attribute is present."""
    return any(name in attrs for name in (*_INPUT_NAMES, *_OUTPUT_NAMES))


def from_attributes(
    attrs: Mapping[str, Any], *, provider: str | None = None, scope_name: str | None = None
) -> Usage | None:
    """Usage from a span's attributes, whichever emitter wrote them; ``None`` if it has none.

    ``provider`` is the normalized ``gen_ai.provider.name`` and ``scope_name`` the span's
    instrumentation scope; together they identify the emitters whose input count is exclusive.
    Raises :class:`InvalidUsageError` for negative, non-integer or inconsistent counts.
    """
    total_in = _attr_count(attrs, *_INPUT_NAMES)
    total_out = _attr_count(attrs, *_OUTPUT_NAMES)
    if total_in is None and total_out is None:
        return None
    total_in = total_in or 0
    total_out = total_out or 0
    cache_read = _attr_count(attrs, *_CACHE_READ_NAMES) or 0
    cache_write = _attr_count(attrs, *_CACHE_WRITE_NAMES) or 0
    write_1h = _attr_count(attrs, sc.LLMCOST_USAGE_CACHE_WRITE_1H, sc.ANTHROPIC_CACHE_WRITE_1H) or 0
    write_5m_attr = _attr_count(attrs, sc.ANTHROPIC_CACHE_WRITE_5M)
    if write_1h > cache_write:
        raise InvalidUsageError(
            f"1h cache writes ({write_1h}) exceed all cache writes ({cache_write})",
            reason="inconsistent_tokens",
        )
    write_5m = write_5m_attr if write_5m_attr is not None else cache_write - write_1h
    if write_5m + write_1h != cache_write:
        write_5m = cache_write - write_1h
    reasoning = _attr_count(attrs, *_REASONING_NAMES) or 0
    input_audio = _attr_count(attrs, sc.LLMCOST_USAGE_INPUT_AUDIO, sc.OPENINFERENCE_PROMPT_AUDIO) or 0
    output_audio = _attr_count(attrs, sc.LLMCOST_USAGE_OUTPUT_AUDIO, sc.OPENINFERENCE_COMPLETION_AUDIO) or 0
    web_search = _attr_count(attrs, sc.LLMCOST_USAGE_WEB_SEARCH) or 0
    estimated = attrs.get(sc.LLMCOST_USAGE_ESTIMATED) is True

    exclusive_input = (
        scope_name is not None and scope_name == sc.OPENLIT_SCOPE and provider == sc.PROVIDER_ANTHROPIC
    )
    if not exclusive_input and cache_read + cache_write + input_audio > total_in:
        # An inclusive count can never be smaller than its parts: this emitter reported
        # Anthropic-style exclusive input. Reading it as inclusive would go negative.
        exclusive_input = True
    if exclusive_input:
        total_in += cache_read + cache_write
    return Usage.from_totals(
        total_in,
        total_out,
        cache_read=cache_read,
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        reasoning=reasoning,
        input_audio=input_audio,
        output_audio=output_audio,
        web_search_requests=web_search,
        estimated=estimated,
    )
