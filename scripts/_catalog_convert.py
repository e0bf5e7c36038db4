"""Convert LiteLLM's ``model_prices_and_context_window.json`` into catalog entries.

The target format is docs/pricing-catalog.md. Everything here is pure: dicts in, dicts out,
so the tests can drive it with small crafted inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

TEXT_MODES = frozenset({"chat", "completion", "responses", "embedding", "moderation", "realtime"})

# LiteLLM `litellm_provider` -> our `gen_ai.provider.name`. Unlisted names keep their LiteLLM
# spelling, except `vertex_ai-*` (see provider_name). The last block folds LiteLLM's
# route-specific variants into their vendor, so one vendor has one key prefix.
PROVIDERS: Mapping[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "xai": "x_ai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "together_ai": "together_ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "fireworks_ai": "fireworks_ai",
    "fireworks_ai-embedding-models": "fireworks_ai",
    "codestral": "codestral",
    "text-completion-codestral": "codestral",
    "inception": "inception",
    "text-completion-inception": "inception",
}
# Key prefixes LiteLLM uses for a provider that are not a provider name themselves.
EXTRA_KEY_PREFIXES: Mapping[str, tuple[str, ...]] = {"amazon_nova": ("amazon-nova",)}
# LiteLLM bills xAI's higher context tier from the threshold itself (>=), everyone else above it.
INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})

# LiteLLM field stem -> our bucket. The 1-hour stem comes first so the regex prefers it.
BUCKETS: Mapping[str, str] = {
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_read_input_token_cost": "cache_read",
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "input_audio",
    "output_cost_per_audio_token": "output_audio",
    "input_cost_per_image_token": "input_image",
}
TIER_SUFFIXES: Mapping[str, str] = {"batches": "batch", "flex": "flex", "priority": "priority"}
_PRICE_FIELD = re.compile(
    r"^(?P<stem>" + "|".join(BUCKETS) + r")(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>[a-z]+))?$"
)
# Fields that carry a price we deliberately do not map (per-second, per-image, ... billing):
# anything matching this and not mapped is reported, so new LiteLLM fields get noticed.
_PRICE_LIKE = re.compile(r"cost|price")
_HANDLED_ELSEWHERE = frozenset({"search_context_cost_per_query"})

Table = dict[str, str]
#: Significant digits a float price is read to: every decimal of up to 15 digits survives a
#: round trip through a double, so the digits a double shows beyond them are noise.
FLOAT_DIGITS = 15
FLOAT_FORMAT = f".{FLOAT_DIGITS}g"
_DECIMAL_TEXT = re.compile(r"\d+(?:\.\d+)?")


def per_mtok(value: object) -> Decimal | None:
    """USD per token (LiteLLM) -> exact USD per million tokens, or None if not a price.

    A float is read as the decimal it was written as (:func:`to_decimal`), so 3.75e-06 becomes
    exactly 3.75 rather than 3.7499999999999997, and 1.5000020000000002e-05 (a price LiteLLM
    computed in floating point) becomes 15.00002.
    """
    amount = to_decimal(value)
    return None if amount is None else amount * 1_000_000


def to_decimal(value: object) -> Decimal | None:
    """A non-negative finite amount, exactly; a float as the decimal of at most
    :data:`FLOAT_DIGITS` significant digits it rounds to (what a price written in decimal becomes
    again: the digits beyond are floating-point noise, not a price), None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(format(value, FLOAT_FORMAT)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def denoised(text: str) -> str:
    """A price string of an older catalog, with float noise beyond :data:`FLOAT_DIGITS`
    significant digits taken off as :func:`to_decimal` now does (other strings unchanged)."""
    if not _DECIMAL_TEXT.fullmatch(text):
        return text
    amount = Decimal(text)
    if len(amount.normalize().as_tuple().digits) <= FLOAT_DIGITS:
        return text
    with localcontext() as ctx:
        ctx.prec = FLOAT_DIGITS
        return dec_str(+amount)


def dec_str(amount: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros: 10, 2.5, 0.075."""
    if amount == 0:
        return "0"
    return format(amount.normalize(), "f")


def provider_name(litellm_provider: str) -> str:
    if litellm_provider.startswith("vertex_ai"):
        return "gcp.vertex_ai"
    return PROVIDERS.get(litellm_provider, litellm_provider)


def _key_prefixes(litellm_provider: str) -> set[str]:
    ours = provider_name(litellm_provider)
    same_vendor = {name for name, mapped in PROVIDERS.items() if mapped == ours}
    return {litellm_provider, *same_vendor, *EXTRA_KEY_PREFIXES.get(litellm_provider, ())}


def model_id(litellm_key: str, litellm_provider: str) -> tuple[str, bool]:
    """The provider's own model id (lowercase) and whether a provider prefix was removed."""
    first, sep, rest = litellm_key.partition("/")
    if sep and rest and first in _key_prefixes(litellm_provider):
        return rest.lower(), True
    return litellm_key.lower(), False


@dataclass
class Converted:
    """One LiteLLM entry in our shape, before effective dating."""

    key: str
    litellm_key: str
    prefixed: bool
    entry: dict[str, Any]
    period: dict[str, Any]
    unmapped: list[str] = field(default_factory=list)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


def _read_fields(
    fields: Mapping[str, Any], tables: dict[tuple[int | None, str | None], Table], threshold: int | None
) -> list[str]:
    """Fill ``tables[(threshold, tier)][bucket]`` from LiteLLM fields; return unmapped price fields."""
    unmapped: list[str] = []
    for name, value in fields.items():
        match = _PRICE_FIELD.match(name)
        tier = None
        if match and match["tier"] is not None:
            tier = TIER_SUFFIXES.get(match["tier"])
        amount = per_mtok(value)
        if match is None or amount is None or (match["tier"] is not None and tier is None):
            if _PRICE_LIKE.search(name) and name not in _HANDLED_ELSEWHERE:
                unmapped.append(name)
            continue
        level = int(match["k"]) * 1000 if match["k"] else threshold
        tables.setdefault((level, tier), {})[BUCKETS[match["stem"]]] = dec_str(amount)
    return unmapped


def _tiered_pricing(raw: object, tables: dict[tuple[int | None, str | None], Table]) -> list[str]:
    """Dashscope-style ``tiered_pricing``: the tier starting at 0 is the base table, each later
    tier a long-context table. LiteLLM picks a tier by ``start < input <= end`` for the whole
    request, which is exactly our exclusive-threshold long-context rule."""
    if not isinstance(raw, list):
        return []
    unmapped: list[str] = []
    for tier in raw:
        span = tier.get("range") if isinstance(tier, dict) else None
        if not (isinstance(span, list) and len(span) == 2 and isinstance(span[0], int | float)):
            continue
        start = int(span[0])
        fields = {k: v for k, v in tier.items() if k not in ("range", "max_results_range")}
        found: dict[tuple[int | None, str | None], Table] = {}
        unmapped += _read_fields(fields, found, None)
        table = found.get((None, None), {})
        tables.setdefault((start or None, None), {}).update(table)
    return unmapped


def build_period(tables: Mapping[tuple[int | None, str | None], Table], inclusive: bool) -> dict[str, Any]:
    thresholds = sorted({level for level, _ in tables if level is not None})
    return {
        "usd_per_mtok": dict(tables.get((None, None), {})),
        "tiers": {tier: dict(t) for (level, tier), t in tables.items() if level is None and tier},
        "long_context": [
            {
                "threshold": level,
                "inclusive": inclusive,
                "usd_per_mtok": dict(tables.get((level, None), {})),
                "tiers": {
                    t: dict(tables[(level, t)])
                    for t in sorted(TIER_SUFFIXES.values())
                    if (level, t) in tables
                },
            }
            for level in thresholds
        ],
        "per_request": {},
    }


def convert_entry(litellm_key: str, raw: Mapping[str, Any]) -> Converted | str:
    """Convert one entry, or return why it is skipped (``mode:<m>``, ``no_prices``, ``no_input``)."""
    mode = raw.get("mode")
    if mode not in TEXT_MODES:
        return f"mode:{mode}"
    litellm_provider = str(raw.get("litellm_provider", ""))
    provider = provider_name(litellm_provider)
    model, prefixed = model_id(litellm_key, litellm_provider)
    tables: dict[tuple[int | None, str | None], Table] = {}
    unmapped = _read_fields(raw, tables, None)
    unmapped += _tiered_pricing(raw.get("tiered_pricing"), tables)
    if not tables:
        return "no_prices"
    period = build_period(tables, litellm_provider in INCLUSIVE_THRESHOLD_PROVIDERS)
    base = period["usd_per_mtok"]
    if "input" not in base:
        return "no_input"
    search = raw.get("search_context_cost_per_query")
    if isinstance(search, dict):
        fee = to_decimal(search.get("search_context_size_medium"))
        if fee:  # a zero fee adds nothing and an absent one is priced the same way
            period["per_request"]["web_search"] = dec_str(fee)
    entry: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "mode": mode,
        "aliases": [],
        "origin": "litellm",
    }
    for name in ("max_input_tokens", "max_output_tokens"):
        if (limit := _int_or_none(raw.get(name))) is not None:
            entry[name] = limit
    if is_free(base):
        entry["free"] = True
    return Converted(f"{provider}/{model}", litellm_key, prefixed, entry, period, unmapped)


def is_free(usd_per_mtok: Mapping[str, str]) -> bool:
    """Free means input and output are both exactly zero (an embedding's absent output is zero)."""
    return Decimal(usd_per_mtok.get("input", "1")) == 0 and Decimal(usd_per_mtok.get("output", "0")) == 0


@dataclass
class SourceResult:
    models: dict[str, Converted]
    skipped: dict[str, int]
    collisions: list[tuple[str, str, list[str], bool]]  # key, kept, dropped, prices differ
    unmapped: dict[str, int]


def convert_source(source: Mapping[str, Any]) -> SourceResult:
    """Convert every text-priced entry.

    Collision rule: when several LiteLLM keys give one catalog key, the key that needed no
    provider prefix removed wins (it is LiteLLM's name for the model itself); among equals the
    lexicographically smallest original key wins. Every collision is reported.
    """
    candidates: dict[str, list[Converted]] = {}
    skipped: dict[str, int] = {}
    unmapped: dict[str, int] = {}
    for litellm_key, raw in source.items():
        if litellm_key == "sample_spec" or not isinstance(raw, dict):
            continue
        result = convert_entry(litellm_key, raw)
        if isinstance(result, str):
            skipped[result] = skipped.get(result, 0) + 1
            continue
        for name in result.unmapped:
            unmapped[name] = unmapped.get(name, 0) + 1
        candidates.setdefault(result.key, []).append(result)
    models: dict[str, Converted] = {}
    collisions: list[tuple[str, str, list[str], bool]] = []
    for key, found in sorted(candidates.items()):
        found.sort(key=lambda c: (c.prefixed, c.litellm_key))
        models[key] = found[0]
        if len(found) > 1:
            differ = any(c.period != found[0].period for c in found[1:])
            collisions.append((key, found[0].litellm_key, [c.litellm_key for c in found[1:]], differ))
    return SourceResult(models, dict(sorted(skipped.items())), collisions, dict(sorted(unmapped.items())))
