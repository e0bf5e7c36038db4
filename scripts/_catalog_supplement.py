"""Read scripts/catalog_supplement.yaml and apply it to the converted LiteLLM entries.

The YAML's own header documents its format; this module enforces it and names the entry and
field of every mistake, because a wrong price here is billed to real users.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from _catalog_convert import Converted, dec_str, is_free

BUCKET_NAMES = frozenset(
    {
        "input",
        "output",
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
        "reasoning",
        "input_audio",
        "output_audio",
        "input_image",
    }
)
TIER_NAMES = frozenset({"batch", "flex", "priority"})
MODES = frozenset({"chat", "completion", "responses", "embedding", "moderation", "realtime"})
ENTRY_KEYS = frozenset(
    {
        "source",
        "note",
        "patch",
        "mode",
        "aliases",
        "max_input_tokens",
        "max_output_tokens",
        "prices",
        "history",
        "current_from",
    }
)
PERIOD_KEYS = frozenset({"usd_per_mtok", "tiers", "long_context", "per_request"})


class CatalogError(ValueError):
    """Bad supplement or inconsistent catalog; the message names the entry and field."""


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _keys(value: object, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
    found = _mapping(value, where)
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return found


def _decimal(value: object, where: str) -> Decimal:
    # Strings only: YAML would turn 1.10 into a binary float, the very thing this catalog avoids.
    if not isinstance(value, str):
        raise CatalogError(f"{where}: prices are quoted strings, got {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CatalogError(f"{where}: {value!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0:
        raise CatalogError(f"{where}: {value!r} is not a price")
    return amount


def _table(value: object, where: str) -> dict[str, str]:
    table = _keys(value, BUCKET_NAMES, where)
    return {bucket: dec_str(_decimal(price, f"{where}.{bucket}")) for bucket, price in table.items()}


def _tiers(
    value: object, base: Mapping[str, str], start: Mapping[str, dict[str, str]], where: str
) -> dict[str, Any]:
    """Tier tables; ``scale: "0.5"`` means every bucket of ``base`` times 0.5, then explicit buckets."""
    tiers = {name: dict(table) for name, table in start.items()}
    for name, spec in _keys(value, TIER_NAMES, where).items():
        spec = dict(_mapping(spec, f"{where}.{name}"))
        table = dict(tiers.get(name, {}))
        if "scale" in spec:
            factor = _decimal(spec.pop("scale"), f"{where}.{name}.scale")
            table.update({bucket: dec_str(Decimal(price) * factor) for bucket, price in base.items()})
        table.update(_table(spec, f"{where}.{name}"))
        tiers[name] = table
    return tiers


def make_period(value: object, where: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """A period from YAML; with ``start`` (a patch), the fields given override those of ``start``."""
    spec = _keys(value, PERIOD_KEYS, where)
    period = (
        copy.deepcopy(start)
        if start
        else {"usd_per_mtok": {}, "tiers": {}, "long_context": [], "per_request": {}}
    )
    period["usd_per_mtok"].update(_table(spec.get("usd_per_mtok", {}), f"{where}.usd_per_mtok"))
    period["tiers"] = _tiers(spec.get("tiers", {}), period["usd_per_mtok"], period["tiers"], f"{where}.tiers")
    if "long_context" in spec:  # replaced whole: a partial threshold list would be ambiguous
        items = spec["long_context"]
        if not isinstance(items, list):
            raise CatalogError(f"{where}.long_context: expected a list")
        period["long_context"] = sorted(
            (_long_context(item, f"{where}.long_context[{i}]") for i, item in enumerate(items)),
            key=lambda lc: lc["threshold"],
        )
    for name, fee in _mapping(spec.get("per_request", {}), f"{where}.per_request").items():
        period["per_request"][str(name)] = dec_str(_decimal(fee, f"{where}.per_request.{name}"))
    return period


def _long_context(value: object, where: str) -> dict[str, Any]:
    spec = _keys(value, frozenset({"threshold", "inclusive", "usd_per_mtok", "tiers"}), where)
    threshold, inclusive = spec.get("threshold"), spec.get("inclusive", False)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
        raise CatalogError(f"{where}.threshold: expected a positive integer token count")
    if not isinstance(inclusive, bool):
        raise CatalogError(f"{where}.inclusive: expected true or false")
    table = _table(spec.get("usd_per_mtok", {}), f"{where}.usd_per_mtok")
    tiers = _tiers(spec.get("tiers", {}), table, {}, f"{where}.tiers")
    return {"threshold": threshold, "inclusive": inclusive, "usd_per_mtok": table, "tiers": tiers}


def _date(value: object, where: str) -> str:
    try:
        return dt.date.fromisoformat(
            value.isoformat() if isinstance(value, dt.date) else str(value)
        ).isoformat()
    except ValueError:
        raise CatalogError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def load_supplement(data: bytes, name: str) -> dict[str, Mapping[str, Any]]:
    document = _keys(yaml.safe_load(data), frozenset({"format", "models"}), name)
    if document.get("format") != 1:
        raise CatalogError(f"{name}: format must be 1")
    models = _mapping(document.get("models"), f"{name}: models")
    for key, spec in models.items():
        where = f"{name}: models.{key}"
        if not isinstance(key, str) or key != key.lower() or "/" not in key:
            raise CatalogError(f"{where}: keys are lowercase '<provider>/<model>'")
        entry = _keys(spec, ENTRY_KEYS, where)
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise CatalogError(f"{where}.source: every entry names its pricing page or reference")
    return dict(models)


def _new_entry(key: str, spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    if spec.get("mode") not in MODES:
        raise CatalogError(f"{where}.mode: one of {sorted(MODES)} is required for a new entry")
    provider, _, model = key.partition("/")
    period = make_period(spec.get("prices"), f"{where}.prices")
    if "input" not in period["usd_per_mtok"]:
        raise CatalogError(f"{where}.prices.usd_per_mtok.input is required")
    entry = {
        "provider": provider,
        "model": model,
        "mode": spec["mode"],
        "aliases": [],
        "origin": "supplement",
    }
    return {"entry": entry, "period": period, "history": [], "current_from": None}


def apply_supplement(
    converted: Mapping[str, Converted], supplement: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Drafts (entry fields, current period, history, current_from) per catalog key, and notes."""
    drafts: dict[str, dict[str, Any]] = {
        key: {"entry": dict(c.entry), "period": c.period, "history": [], "current_from": None}
        for key, c in converted.items()
    }
    notes: list[str] = []
    counts = {"added": 0, "patched": 0}
    for key, spec in supplement.items():
        where = f"supplement: {key}"
        if spec.get("patch", False):
            if key not in drafts:
                make_period(spec.get("prices", {}), f"{where}.prices")  # still validate it
                notes.append(f"supplement: patch target {key} is not in the source; patch skipped")
                continue
            draft = drafts[key]
            draft["period"] = make_period(spec.get("prices", {}), f"{where}.prices", draft["period"])
            draft["entry"]["origin"] = "litellm+supplement"
            counts["patched"] += 1
        else:
            if key in drafts:
                notes.append(f"supplement: {key} replaces the source entry (drop it from the supplement?)")
            draft = drafts[key] = _new_entry(key, spec, where)
            counts["added"] += 1
        entry = draft["entry"]
        if "mode" in spec:
            if spec["mode"] not in MODES:
                raise CatalogError(f"{where}.mode: one of {sorted(MODES)}")
            entry["mode"] = spec["mode"]
        aliases = spec.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a == a.lower() for a in aliases):
            raise CatalogError(f"{where}.aliases: a list of lowercase model ids")
        entry["aliases"] = sorted(set(entry["aliases"]) | set(aliases))
        for limit in ("max_input_tokens", "max_output_tokens"):
            if limit in spec:
                entry[limit] = spec[limit]
        entry.pop("free", None)
        if is_free(draft["period"]["usd_per_mtok"]):
            entry["free"] = True
        history = spec.get("history", [])
        if not isinstance(history, list):
            raise CatalogError(f"{where}.history: expected a list of periods")
        draft["history"] = [
            {
                "effective_from": _date(
                    _mapping(h, f"{where}.history[{i}]").get("effective_from"), f"{where}.history[{i}]"
                ),
                **make_period({k: v for k, v in h.items() if k != "effective_from"}, f"{where}.history[{i}]"),
            }
            for i, h in enumerate(history)
        ]
        if "current_from" in spec:
            draft["current_from"] = _date(spec["current_from"], f"{where}.current_from")
        if draft["history"] and (
            draft["current_from"] is None
            or draft["current_from"] <= max(h["effective_from"] for h in draft["history"])
        ):
            raise CatalogError(
                f"{where}.current_from: required with history, and later than every history period"
            )
    notes.insert(0, f"supplement: added {counts['added']}, patched {counts['patched']}")
    return drafts, notes


def check_aliases(models: Mapping[str, Mapping[str, Any]]) -> None:
    """An alias must name one model only: not another model's id, nor another model's alias."""
    owner: dict[str, str] = {}
    for key, entry in models.items():
        for alias in entry.get("aliases", []):
            alias_key = f"{entry['provider']}/{alias}"
            if alias_key in models or alias_key in owner:
                other = alias_key if alias_key in models else owner[alias_key]
                raise CatalogError(f"alias {alias_key} of {key} already names {other}")
            owner[alias_key] = key
