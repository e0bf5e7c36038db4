"""Resolve a request + rule into the exact token counts the answer will carry."""

from __future__ import annotations

from dataclasses import dataclass

from ._config import SimConfig
from ._tokens import chunk_words, reply_words


@dataclass(frozen=True)
class UsagePlan:
    """Canonical (inclusive) counts for one answer; providers render them their own way.

    ``prompt`` includes ``cached``, ``write_5m``, ``write_1h`` and ``audio``; ``output``
    includes ``reasoning``; ``visible = output - reasoning`` is the reply text length.
    ``capped`` means the output cap cut the answer (the provider's "length" finish).
    """

    model: str
    response_model: str
    prompt: int
    cached: int
    write_5m: int
    write_1h: int
    audio: int
    output: int
    reasoning: int
    capped: bool
    chunk_tokens: int

    @property
    def visible(self) -> int:
        return self.output - self.reasoning

    @property
    def cache_write(self) -> int:
        return self.write_5m + self.write_1h

    @property
    def uncached_input(self) -> int:
        """Anthropic's ``input_tokens``: the prompt minus cache reads and writes."""
        return self.prompt - self.cached - self.cache_write

    @property
    def total(self) -> int:
        return self.prompt + self.output

    def words(self) -> list[str]:
        return reply_words(self.model, self.visible)

    def text(self) -> str:
        return "".join(self.words())

    def deltas(self) -> list[str]:
        """The reply split into stream deltas of ``chunk_tokens`` tokens each."""
        return chunk_words(self.words(), self.chunk_tokens)


def plan_usage(config: SimConfig, model: str, derived_prompt: int, max_tokens: int | None) -> UsagePlan:
    """Apply the model's rule to a request whose text counts ``derived_prompt`` tokens.

    A derived prompt is raised, if needed, so that it contains the rule's cache and audio
    parts. The output cap ``max_tokens`` (which includes reasoning, as on every provider)
    cuts the output unless the rule says ``ignore_max_tokens``; reasoning is cut first to
    fit, then the visible reply.
    """
    rule = config.rule_for(model)
    cached = rule.cached_tokens or 0
    write_5m = rule.cache_write_5m or 0
    write_1h = rule.cache_write_1h or 0
    audio = rule.audio_prompt_tokens or 0
    prompt = rule.prompt_tokens if rule.prompt_tokens is not None else max(derived_prompt, rule.input_parts())
    reasoning = rule.reasoning_tokens or 0
    output = rule.completion_tokens if rule.completion_tokens is not None else config.reply_tokens + reasoning
    capped = False
    if max_tokens is not None and output > max_tokens and not rule.ignore_max_tokens:
        output = max(max_tokens, 0)
        reasoning = min(reasoning, output)
        capped = True
    return UsagePlan(
        model=model,
        response_model=rule.response_model or model,
        prompt=prompt,
        cached=cached,
        write_5m=write_5m,
        write_1h=write_1h,
        audio=audio,
        output=output,
        reasoning=reasoning,
        capped=capped,
        chunk_tokens=config.stream_chunk_tokens,
    )


def input_plan(config: SimConfig, model: str, derived_prompt: int) -> int:
    """Input-only endpoints (embeddings, token counting): the rule's prompt or the derived one."""
    rule = config.rule_for(model)
    if rule.prompt_tokens is not None:
        return rule.prompt_tokens
    return max(derived_prompt, rule.input_parts())
