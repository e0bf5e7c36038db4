"""Model-name resolution: from whatever a span or SDK says to exactly one catalog entry, or none.

Rules, in order (every step is an *exact* lookup — never a prefix or fuzzy match, so
``gpt-4o-mini-2024-07-18`` can only ever become ``gpt-4o-mini``, never ``gpt-4o``):

1. lowercase; a configured deployment name (Azure) maps to its model;
2. routing prefixes are peeled (``openai/``, ``models/``, ``vertex_ai/``, ``bedrock/``, region
   prefixes like ``us.`` and vendor prefixes like ``anthropic.`` …), each implying a provider;
3. snapshot suffixes are stripped one at a time (``-2024-08-06``, ``-20250929``, ``@20250929``,
   ``-v1:0``, ``-0613``, ``-002``, ``-latest``);
4. version spellings are tried both ways (``claude-opus-4.5`` ↔ ``claude-opus-4-5``).

Each candidate name is looked up first at the request's provider (and the providers that resell
its models at list price), then — only when that finds nothing — at the model's first-party
provider. An unresolvable name returns ``None``: unpriced, never $0.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping

from otel_llmcost import semconv as sc
from otel_llmcost.pricing._catalog import Catalog

__all__ = ["Resolver", "normalize_provider"]

# Routing prefixes other tools put in front of model names, and the provider each implies.
_PREFIXES: tuple[tuple[str, str | None], ...] = (
    ("openai/", sc.PROVIDER_OPENAI),
    ("anthropic/", sc.PROVIDER_ANTHROPIC),
    ("gemini/", sc.PROVIDER_GEMINI),
    ("google/", None),
    ("models/", None),
    ("vertex_ai/", sc.PROVIDER_VERTEX_AI),
    ("vertex/", sc.PROVIDER_VERTEX_AI),
    ("bedrock/", sc.PROVIDER_BEDROCK),
    ("azure/", sc.PROVIDER_AZURE_OPENAI),
    ("azure_ai/", sc.PROVIDER_AZURE_INFERENCE),
    ("xai/", sc.PROVIDER_XAI),
    ("x-ai/", sc.PROVIDER_XAI),
    ("groq/", sc.PROVIDER_GROQ),
    ("mistral/", sc.PROVIDER_MISTRAL),
    ("mistralai/", sc.PROVIDER_MISTRAL),
    ("deepseek/", sc.PROVIDER_DEEPSEEK),
    ("deepseek-ai/", sc.PROVIDER_DEEPSEEK),
    ("together_ai/", sc.PROVIDER_TOGETHER),
)
# Bedrock cross-region inference profiles, then the model vendor.
_REGION_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.")
_VENDOR_PREFIXES = ("anthropic.", "meta.", "amazon.", "mistral.", "cohere.", "deepseek.", "openai.", "xai.")
_SUFFIXES = (
    re.compile(r"-v\d+(?::\d+)?$"),
    re.compile(r"@\d{8}$"),
    re.compile(r"@\d{3}$"),
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),
    re.compile(r"-\d{8}$"),
    re.compile(r"-\d{4}$"),
    re.compile(r"-\d{3}$"),
    re.compile(r"-latest$"),
)
_DOT_VERSION = re.compile(r"(?<=\d)\.(?=\d)")
_DASH_VERSION = re.compile(r"(?<=-\d)-(?=\d(?:$|-))")

#: Providers that sell another provider's models at its list price (fallback when they lack an entry).
_RESELLERS: Mapping[str, tuple[str, ...]] = {
    sc.PROVIDER_AZURE_OPENAI: (sc.PROVIDER_OPENAI,),
    sc.PROVIDER_VERTEX_AI: (sc.PROVIDER_GEMINI, sc.PROVIDER_ANTHROPIC),
    sc.PROVIDER_GEMINI: (sc.PROVIDER_VERTEX_AI,),
    sc.PROVIDER_BEDROCK: (sc.PROVIDER_ANTHROPIC,),
}
#: Makers who sell their own models, in preference order when the request names no provider.
FIRST_PARTY = (
    sc.PROVIDER_OPENAI,
    sc.PROVIDER_ANTHROPIC,
    sc.PROVIDER_GEMINI,
    sc.PROVIDER_XAI,
    sc.PROVIDER_MISTRAL,
    sc.PROVIDER_DEEPSEEK,
    sc.PROVIDER_GROQ,
    sc.PROVIDER_VERTEX_AI,
)

_CROSS_PROVIDER_OK = frozenset((*FIRST_PARTY, *_RESELLERS, sc.PROVIDER_AZURE_INFERENCE))

_PROVIDER_ALIASES = {
    "openai": sc.PROVIDER_OPENAI,
    "anthropic": sc.PROVIDER_ANTHROPIC,
    "gemini": sc.PROVIDER_GEMINI,
    "google": sc.PROVIDER_GEMINI,
    "google_genai": sc.PROVIDER_GEMINI,
    "google.genai": sc.PROVIDER_GEMINI,
    "gcp.gen_ai": sc.PROVIDER_GEMINI,
    "gcp.gemini": sc.PROVIDER_GEMINI,
    "vertexai": sc.PROVIDER_VERTEX_AI,
    "vertex_ai": sc.PROVIDER_VERTEX_AI,
    "gcp.vertex_ai": sc.PROVIDER_VERTEX_AI,
    "az.ai.openai": sc.PROVIDER_AZURE_OPENAI,
    "azure": sc.PROVIDER_AZURE_OPENAI,
    "azure_openai": sc.PROVIDER_AZURE_OPENAI,
    "azure.ai.openai": sc.PROVIDER_AZURE_OPENAI,
    "az.ai.inference": sc.PROVIDER_AZURE_INFERENCE,
    "azure.ai.inference": sc.PROVIDER_AZURE_INFERENCE,
    "aws.bedrock": sc.PROVIDER_BEDROCK,
    "bedrock": sc.PROVIDER_BEDROCK,
    "aws_bedrock": sc.PROVIDER_BEDROCK,
    "xai": sc.PROVIDER_XAI,
    "x_ai": sc.PROVIDER_XAI,
    "groq": sc.PROVIDER_GROQ,
    "mistral": sc.PROVIDER_MISTRAL,
    "mistralai": sc.PROVIDER_MISTRAL,
    "mistral_ai": sc.PROVIDER_MISTRAL,
    "deepseek": sc.PROVIDER_DEEPSEEK,
    "together": sc.PROVIDER_TOGETHER,
    "together_ai": sc.PROVIDER_TOGETHER,
}


def normalize_provider(name: str | None) -> str | None:
    """Our ``gen_ai.provider.name`` for what an emitter wrote (``gen_ai.system``, OpenInference …)."""
    if not name:
        return None
    lowered = name.strip().lower()
    return _PROVIDER_ALIASES.get(lowered, lowered)


def _peel(name: str) -> Iterator[tuple[str, str | None]]:
    """The name and each shorter form left after removing one routing prefix at a time."""
    implied: str | None = None
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        yield name, implied
        if "/models/" in name:  # Vertex resource names: projects/p/locations/l/publishers/google/models/x
            name = name.rsplit("/models/", 1)[1]
            continue
        for prefix, provider in _PREFIXES:
            if name.startswith(prefix):
                name, implied = name[len(prefix) :], provider or implied
                break
        else:
            # Region and vendor prefixes are Bedrock's naming: they imply Bedrock as the seller.
            for prefix in (*_REGION_PREFIXES, *_VENDOR_PREFIXES):
                if name.startswith(prefix):
                    name, implied = name[len(prefix) :], implied or sc.PROVIDER_BEDROCK
                    break
            else:
                return


def _snapshots(name: str) -> Iterator[str]:
    yield name
    stripped = True
    while stripped:
        stripped = False
        for pattern in _SUFFIXES:
            shorter = pattern.sub("", name)
            if shorter != name and shorter:
                name = shorter
                stripped = True
                yield name
                break


def candidates(name: str) -> Iterator[tuple[str, str | None]]:
    """Every exact name to try, in order, with the provider the name's prefixes imply.

    The implied provider applies to every form, the unpeeled one included: a Bedrock id like
    ``anthropic.claude-…-v1:0`` means Bedrock even before its prefix is removed.
    """
    stages = list(_peel(name))
    implied = stages[-1][1] if stages else None
    seen: set[str] = set()
    for peeled, _ in stages:
        for snap in _snapshots(peeled):
            for variant in (snap, _DOT_VERSION.sub("-", snap), _DASH_VERSION.sub(".", snap)):
                if variant not in seen:
                    seen.add(variant)
                    yield variant, implied


class Resolver:
    """Resolves (model, provider) to a catalog key. Build once per catalog; results are cached."""

    def __init__(self, catalog: Catalog, deployments: Mapping[str, str] | None = None) -> None:
        self._catalog = catalog
        self._deployments = {k.lower(): v.lower() for k, v in (deployments or {}).items()}
        index: dict[str, dict[str, str]] = defaultdict(dict)
        for name, provider, key in catalog.names():
            # First writer wins for a (name, provider) pair: model ids come before aliases.
            index[name].setdefault(provider, key)
        self._index = dict(index)
        self._cache: dict[tuple[str, str | None], str | None] = {}

    def resolve(self, model: str, provider: str | None = None) -> str | None:
        """The catalog key for ``model`` as called at ``provider``; ``None`` when unknown."""
        cache_key = (model, provider)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        result = self._resolve(model, normalize_provider(provider))
        if len(self._cache) > 4096:  # bounded: model names come from untrusted spans
            self._cache.clear()
        self._cache[cache_key] = result
        return result

    def _resolve(self, model: str, provider: str | None) -> str | None:
        name = model.strip().lower()
        if not name:
            return None
        mapped = self._deployments.get(name)
        if mapped is not None:
            if mapped in self._catalog:
                return mapped
            name = mapped
        names = list(candidates(name))
        if provider is None:
            # No provider given: the seller a prefix implies, else the model's maker, in any name
            # form; only then a name that a single (reselling) seller lists.
            for candidate, implied in names:
                at = self._index.get(candidate)
                found = (
                    ((self._at_provider(at, implied) if implied else None) or self._first_party(at))
                    if at
                    else None
                )
                if found:
                    return found
            for candidate, _ in names:
                at = self._index.get(candidate)
                if at and len(at) == 1:
                    return next(iter(at.values()))
            return None
        # Pass 1: at the request's provider (or a seller of its models at list price), any name form.
        for candidate, _ in names:
            at = self._index.get(candidate)
            found = self._at_provider(at, provider) if at else None
            if found:
                return found
        # Pass 2: the maker's own listing — not for providers we cannot vouch for (a local vLLM,
        # a reseller): their price is theirs.
        if provider not in _CROSS_PROVIDER_OK:
            return None
        for candidate, _ in names:
            at = self._index.get(candidate)
            found = self._first_party(at) if at else None
            if found:
                return found
        return None

    @staticmethod
    def _at_provider(at: Mapping[str, str], provider: str) -> str | None:
        for p in (provider, *_RESELLERS.get(provider, ())):
            if p in at:
                return at[p]
        return None

    @staticmethod
    def _first_party(at: Mapping[str, str]) -> str | None:
        for p in FIRST_PARTY:
            if p in at:
                return at[p]
        return None

    def suggestions(self, model: str, limit: int = 5) -> list[str]:
        """Closest known names, for error messages (the only fuzzy matching we do)."""
        peeled = [c for c, _ in candidates(model.strip().lower())]
        pool = list(self._index)
        found: list[str] = []
        for name in peeled:
            for match in difflib.get_close_matches(name, pool, n=limit, cutoff=0.6):
                if match not in found:
                    found.append(match)
        return found[:limit]
