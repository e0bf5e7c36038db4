"""Never break the app: our faults are swallowed, requests are untouched, uninstrument restores."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import models, types
from opentelemetry.trace import StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import FLASH_COST, RULE

NAMES = (
    "Models._generate_content",
    "Models._generate_content_stream",
    "Models.embed_content",
    "AsyncModels._generate_content",
    "AsyncModels._generate_content_stream",
    "AsyncModels.embed_content",
)


def _originals() -> dict[str, Any]:
    found = {}
    for name in NAMES:
        owner, attr = name.split(".")
        found[name] = getattr(models, owner).__dict__[attr]
    return found


def _all_calls(client: genai.Client) -> None:
    """One of every wrapped call, sync and async."""
    client.models.generate_content(model="gemini-2.5-flash", contents="hello")
    list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"))
    client.models.embed_content(model="gemini-embedding-001", contents=["a", "b"])

    async def run() -> None:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hello")
        async for _ in await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hello"
        ):
            pass
        await client.aio.models.embed_content(model="gemini-embedding-001", contents="c")
        await client.aio.aclose()

    asyncio.run(run())


@pytest.fixture
def manual(otel: Otel, pricer: Pricer) -> Iterator[Callable[[], LLMCostInstrumentor]]:
    """Instrument on demand (to compare with an uninstrumented run); always uninstrumented after."""
    instrumentor = LLMCostInstrumentor()

    def start() -> LLMCostInstrumentor:
        instrumentor.instrument(
            tracer_provider=otel.tracer_provider,
            meter_provider=otel.meter_provider,
            pricer=pricer,
            guard=None,
        )
        return instrumentor

    yield start
    instrumentor.uninstrument()


def test_requests_are_byte_identical(
    sim: Simulator, otel: Otel, manual: Callable[[], LLMCostInstrumentor]
) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    plain = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    _all_calls(plain)
    before = sim.requests
    sim.clear()
    manual()
    traced = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    _all_calls(traced)
    after = sim.requests
    assert len(otel.genai_spans()) == len(after) == len(before) == 6
    for old, new in zip(before, after, strict=True):
        assert (new.method, new.path, new.query, new.body) == (old.method, old.path, old.query, old.body)
        assert new.headers == old.headers  # nothing volatile: the SDK sends no request ids


def test_uninstrument_restores_the_originals(otel: Otel, manual: Callable[[], LLMCostInstrumentor]) -> None:
    originals = _originals()
    instrumentor = manual()
    wrapped = _originals()
    assert all(wrapped[name] is not originals[name] for name in NAMES)
    assert all(getattr(wrapped[name], "__wrapped__", None) is originals[name] for name in NAMES)
    instrumentor.uninstrument()
    restored = _originals()
    assert all(restored[name] is originals[name] for name in NAMES)


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = (
        "import sys, otel_llmcost.instrumentation.google_genai as g; specs = list(g.wrap_specs()); "
        "assert 'google.genai' not in sys.modules, 'imported'; print(len(specs))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "6"


@pytest.mark.usefixtures("instrumented")
def test_metrics(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    metrics = otel.metrics()
    base = {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-2.5-flash",
        "gen_ai.response.model": "gemini-2.5-flash",
        "server.address": "127.0.0.1",
        "server.port": sim.port,
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in metrics["gen_ai.client.token.usage"]}
    assert (tokens["input"].sum, tokens["output"].sum) == (1200, 50)
    assert dict(tokens["input"].attributes) == {**base, "gen_ai.token.type": "input"}
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert dict(duration.attributes) == base and duration.count == 1
    (spent,) = metrics["llmcost.client.cost"]
    assert dict(spent.attributes) == base and spent.value == float(FLASH_COST)
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics


@pytest.mark.usefixtures("instrumented")
def test_faulty_pricer_never_reaches_the_app(
    otel: Otel, sim: Simulator, gem: genai.Client, pricer: Pricer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("our bug")

    monkeypatch.setattr(pricer, "price_entry", boom)
    monkeypatch.setattr(pricer, "price_femtos", boom)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert isinstance(response, types.GenerateContentResponse)
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"))
    assert len(chunks) == 20
    spans = otel.genai_spans()
    assert len(spans) == 2 and all(s.end_time is not None for s in spans)
    assert all("gen_ai.usage.cost.amount" not in (s.attributes or {}) for s in spans)


@pytest.mark.usefixtures("instrumented")
def test_faulty_result_recording_never_reaches_the_app(
    otel: Otel, sim: Simulator, gem: genai.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: LLMCall) -> Any:
        raise RuntimeError("our bug")

    monkeypatch.setattr(LLMCall, "_result_attributes", boom)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert response.usage_metadata is not None
    embedded = gem.models.embed_content(model="gemini-embedding-001", contents="x")
    assert embedded.embeddings is not None
    assert len(otel.genai_spans()) == 2


@pytest.mark.usefixtures("instrumented")
def test_faulty_request_description_still_makes_the_call(
    otel: Otel, sim: Simulator, gem: genai.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_llmcost.instrumentation.google_genai import _generate

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("our bug")

    monkeypatch.setattr(_generate, "describe_generate", boom)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert response.usage_metadata is not None
    assert otel.genai_spans() == []


@pytest.mark.usefixtures("instrumented")
def test_sdk_http_sends_happen_inside_our_call(otel: Otel, sim: Simulator) -> None:
    # The raw-HTTP hook skips requests made while one of our calls runs: every request a wrapped
    # method sends — including the sync stream's, sent on its first next() — must be marked.
    marks: list[bool] = []

    def hook(request: httpx2.Request) -> None:
        marks.append(Telemetry.in_call())

    async def ahook(request: httpx2.Request) -> None:
        marks.append(Telemetry.in_call())

    options = types.HttpOptions(
        base_url=sim.url,
        httpx_client=httpx2.Client(event_hooks={"request": [hook]}),
        httpx_async_client=httpx2.AsyncClient(event_hooks={"request": [ahook]}),
    )
    _all_calls(genai.Client(api_key="test", http_options=options))
    assert marks == [True] * 6
    assert len(otel.genai_spans()) == 6


@pytest.mark.usefixtures("instrumented")
def test_suppressed_instrumentation_records_nothing(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
        assert len(list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))) == 20
    assert otel.genai_spans() == []
    span_error = [s for s in otel.spans() if s.status.status_code is StatusCode.ERROR]
    assert span_error == []
