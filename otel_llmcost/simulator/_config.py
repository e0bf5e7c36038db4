"""Simulator configuration: per-model usage rules, defaults, latency, failure modes."""

from __future__ import annotations

import fnmatch
import json
import threading
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: Longest reply text the simulator will generate (tokens); bounds memory per answer.
MAX_REPLY_TOKENS = 1_000_000
#: Longest embedding vector (requests asking for more get a 400, like the real APIs).
MAX_EMBEDDING_DIMS = 8192

_COUNT_FIELDS = (
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cache_write_5m",
    "cache_write_1h",
    "audio_prompt_tokens",
)


@dataclass(frozen=True)
class UsageRule:
    """Token counts the simulator reports for models matching a glob pattern.

    Every count is in the simulator's *canonical, inclusive* form and is rendered in each
    provider's own convention:

    - ``prompt_tokens``: all input tokens, including ``cached_tokens`` (cache reads),
      ``cache_write_5m`` / ``cache_write_1h`` (Anthropic cache writes) and
      ``audio_prompt_tokens``. OpenAI and Gemini report it as is; Anthropic reports
      ``input_tokens = prompt - cache reads - cache writes``.
    - ``completion_tokens``: all output tokens, including ``reasoning_tokens``. OpenAI and
      Anthropic report it as is; Gemini reports ``candidatesTokenCount = completion -
      reasoning`` and ``thoughtsTokenCount = reasoning``.

    ``None`` means "derive": prompt tokens are counted from the request text, completion
    tokens are ``SimConfig.reply_tokens`` visible tokens plus the reasoning tokens, and the
    other counts are 0. ``ignore_max_tokens`` makes the simulator exceed the request's
    output cap (a misbehaving provider). ``response_model`` replaces the echoed model name.
    """

    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None
    audio_prompt_tokens: int | None = None
    ignore_max_tokens: bool = False
    response_model: str | None = None

    def __post_init__(self) -> None:
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"UsageRule.{name} must be a non-negative int or None, got {value!r}")
        if self.prompt_tokens is not None and self.input_parts() > self.prompt_tokens:
            raise ValueError(
                "UsageRule: cached_tokens + cache_write_5m + cache_write_1h + audio_prompt_tokens "
                f"({self.input_parts()}) exceed prompt_tokens ({self.prompt_tokens})"
            )
        if (
            self.completion_tokens is not None
            and self.completion_tokens - (self.reasoning_tokens or 0) > MAX_REPLY_TOKENS
        ):
            raise ValueError(f"UsageRule: visible completion tokens are limited to {MAX_REPLY_TOKENS}")
        if (
            self.completion_tokens is not None
            and self.reasoning_tokens is not None
            and self.reasoning_tokens > self.completion_tokens
        ):
            raise ValueError(
                f"UsageRule: reasoning_tokens ({self.reasoning_tokens}) exceed "
                f"completion_tokens ({self.completion_tokens}), which include them"
            )

    def input_parts(self) -> int:
        """Cache reads + cache writes + audio: the parts that prompt_tokens must contain."""
        return sum(
            getattr(self, n) or 0
            for n in ("cached_tokens", "cache_write_5m", "cache_write_1h", "audio_prompt_tokens")
        )


_DEFAULT_RULE = UsageRule()


@dataclass
class SimConfig:
    """Everything that shapes the simulator's answers.

    ``rules`` maps a glob over the *requested* model name to a ``UsageRule``; the most
    recently added matching pattern wins. ``reply_tokens`` is the visible reply length when
    no rule fixes it. ``latency_s`` is waited before the first byte of every answer and
    ``chunk_delay_s`` between stream chunks. ``fail_mid_stream`` makes every streamed
    answer stop after ``fail_after_chunks`` chunks by dropping the connection (the HTTP
    adapter closes the socket; the mock transports raise ``httpx2.RemoteProtocolError``).
    ``embedding_dims`` is the default vector length. ``gemini_embedding_usage`` controls
    whether Gemini embedding answers carry ``usageMetadata`` (see the package docstring).
    ``stream_chunk_tokens`` is how many reply tokens go in each stream delta.
    """

    rules: dict[str, UsageRule] = field(default_factory=dict)
    reply_tokens: int = 20
    latency_s: float = 0.0
    chunk_delay_s: float = 0.0
    fail_mid_stream: bool = False
    fail_after_chunks: int = 2
    embedding_dims: int = 8
    gemini_embedding_usage: bool = True
    stream_chunk_tokens: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("reply_tokens", "fail_after_chunks", "embedding_dims", "stream_chunk_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"SimConfig.{name} must be a non-negative int, got {value!r}")
        if self.reply_tokens > MAX_REPLY_TOKENS:
            raise ValueError(
                f"SimConfig.reply_tokens is limited to {MAX_REPLY_TOKENS}, got {self.reply_tokens}"
            )
        if not 1 <= self.embedding_dims <= MAX_EMBEDDING_DIMS or self.stream_chunk_tokens < 1:
            raise ValueError(
                f"SimConfig.embedding_dims must be 1..{MAX_EMBEDDING_DIMS} and stream_chunk_tokens at least 1"
            )
        for name in ("latency_s", "chunk_delay_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"SimConfig.{name} must be a non-negative number, got {value!r}")
        for pattern, rule in self.rules.items():
            if not isinstance(rule, UsageRule):
                raise ValueError(f"SimConfig.rules[{pattern!r}] must be a UsageRule, got {rule!r}")

    def set_rule(self, pattern: str, rule: UsageRule) -> None:
        """Add or replace the rule for ``pattern``; it becomes the highest priority."""
        with self._lock:
            rules = {p: r for p, r in self.rules.items() if p != pattern}
            rules[pattern] = rule
            self.rules = rules  # copy-on-write: readers never see a half-updated dict

    def remove_rule(self, pattern: str) -> None:
        with self._lock:
            self.rules = {p: r for p, r in self.rules.items() if p != pattern}

    def rule_for(self, model: str) -> UsageRule:
        """The rule for ``model``: the last-added matching pattern, else all-derive."""
        for pattern, rule in reversed(list(self.rules.items())):
            if fnmatch.fnmatchcase(model, pattern):
                return rule
        return _DEFAULT_RULE

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<config>") -> SimConfig:
        """Build from plain data (what a YAML/JSON file holds).

        Layout: top-level keys are the ``SimConfig`` fields; ``rules`` is a list of mappings
        each with ``model`` (a glob) and any ``UsageRule`` fields. Unknown keys and bad
        values raise ``ValueError`` naming ``source``, the key and the reason.
        """
        if not isinstance(data, dict):
            raise ValueError(f"{source}: top level must be a mapping, got {type(data).__name__}")
        allowed = {f.name for f in fields(cls) if f.init}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in allowed:
                raise ValueError(f"{source}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
            if key == "rules":
                kwargs["rules"] = _parse_rules(value, source)
            else:
                kwargs[key] = value
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> SimConfig:
        """Load a ``.json``, ``.yaml`` or ``.yml`` file (see ``from_dict`` for the layout)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{p}: cannot read: {exc.strerror or exc}") from None
        data: object
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{p}: not valid JSON: {exc}") from None
        else:
            import yaml  # lazy: only the standalone server's --config needs it

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ValueError(f"{p}: not valid YAML: {exc}") from None
        return cls.from_dict({} if data is None else data, source=str(p))

    def copy(self) -> SimConfig:
        """An independent copy (rules are immutable, so a shallow copy of the dict suffices)."""
        return replace(self, rules=dict(self.rules))


def _parse_rules(value: object, source: str) -> dict[str, UsageRule]:
    if not isinstance(value, list):
        raise ValueError(f"{source}: rules must be a list of mappings")
    allowed = {f.name for f in fields(UsageRule)}
    rules: dict[str, UsageRule] = {}
    for i, item in enumerate(value):
        where = f"{source}: rules[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be a mapping")
        pattern = item.get("model")
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{where}.model is required (a model glob such as 'gpt-4o*')")
        unknown = set(item) - allowed - {"model"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        try:
            rules[pattern] = UsageRule(**{k: v for k, v in item.items() if k != "model"})
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return rules
