"""Never break the host app: our faults stay ours, requests stay byte-identical, uninstrument restores."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import openai
import pytest
import wrapt
from openai.types.chat import ChatCompletion
from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Guard
from otel_llmcost.instrumentation.openai import _chat, _raw, wrap_specs
from otel_llmcost.instrumentation.openai._chat import ChatReader
from otel_llmcost.instrumentation.openai._streams import ChatStreamHandler
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import CACHED_RULE, HELLO, attrs, body, instrumentation, mini_cost, only_span, raiser, usage_of

CALLS: dict[str, Callable[[openai.OpenAI], Any]] = {
    "chat": lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=0.2),
    "chat.parse": lambda c: c.chat.completions.parse(model="gpt-4o-mini", messages=HELLO),
    "chat.stream+usage": lambda c: list(
        c.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    ),
    "responses": lambda c: c.responses.create(model="o4-mini", input="hello", instructions="Be brief."),
    "responses.stream": lambda c: list(c.responses.create(model="o4-mini", input="hello", stream=True)),
    "embeddings": lambda c: c.embeddings.create(model="text-embedding-3-small", input=["a", "b"]),
    "legacy": lambda c: c.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", max_tokens=5),
    "raw": lambda c: c.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO).parse(),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_requests_are_byte_identical(otel: Otel, pricer: Pricer, sim: Simulator, name: str) -> None:
    # A fresh client for each run: the SDK binds `create` into `with_raw_response` when first used.
    for instrumented in (False, True):
        with (
            openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client,
            instrumentation(otel, pricer) if instrumented else nullcontext(),
        ):
            CALLS[name](client)
    before, after = sim.requests
    assert after.body == before.body
    assert (after.method, after.path, after.query) == (before.method, before.path, before.query)
    assert dict(after.headers) == dict(before.headers)
    assert len(otel.genai_spans()) == 1


def test_injection_adds_only_stream_options(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    def call(client: openai.OpenAI) -> None:
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True, seed=1))

    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        call(client)
        with instrumentation(otel, pricer):
            call(client)
    plain, injected = (json.loads(r.body) for r in sim.requests)
    assert injected.pop("stream_options") == {"include_usage": True}
    assert list(injected.items()) == list(plain.items())
    assert dict(sim.requests[1].headers) == {
        **dict(sim.requests[0].headers),
        "content-length": str(len(sim.requests[1].body)),
    }


def test_suppressed_instrumentation_sends_the_request_as_made(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    with suppress_instrumentation():
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert "stream_options" not in body(sim)
    assert len(chunks) == 22
    assert otel.genai_spans() == []


def test_uninstrument_restores_every_original(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    originals: dict[tuple[str, str], Any] = {}
    for spec in wrap_specs():
        owner_name, _, attr = spec.name.rpartition(".")
        owner = getattr(importlib.import_module(spec.module), owner_name)
        if attr in vars(owner):
            originals[(spec.module, spec.name)] = (owner, attr, vars(owner)[attr])
    assert len(originals) == 29  # the beta Responses resource has no parse()
    with instrumentation(otel, pricer):
        for owner, attr, original in originals.values():
            current = vars(owner)[attr]
            assert isinstance(current, wrapt.FunctionWrapper) and current.__wrapped__ is original
    for owner, attr, original in originals.values():
        assert vars(owner)[attr] is original
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert "stream_options" not in body(sim)
    assert otel.genai_spans() == []


def test_importing_the_package_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, otel_llmcost.instrumentation.openai as m; list(m.wrap_specs()); print('openai' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "False\n"
    )


def test_pricing_fault_never_reaches_the_app(
    otel: Otel,
    instrumented: LLMCostInstrumentor,
    pricer: Pricer,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pricer, "price_entry", raiser)
    monkeypatch.setattr(pricer, "price_femtos", raiser)
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert type(result) is ChatCompletion
    span = only_span(otel)
    assert span.end_time is not None
    assert "gen_ai.usage.cost.amount" not in attrs(span)


def test_result_attribute_fault_never_reaches_the_app(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LLMCall, "_result_attributes", raiser)
    assert type(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)) is ChatCompletion
    assert len(list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))) == 22
    assert [s.name for s in otel.genai_spans()] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]


def test_reader_fault_still_returns_the_result(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ChatReader, "finish", raiser)
    assert type(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)) is ChatCompletion
    assert "gen_ai.usage.input_tokens" not in attrs(only_span(otel))


def test_stream_accounting_fault_does_not_leak_the_injected_chunk(
    otel: Otel,
    instrumented: LLMCostInstrumentor,
    sim: Simulator,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    monkeypatch.setattr(ChatReader, "delta_text", raiser)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert len(chunks) == 22 and all(c.choices for c in chunks)
    assert usage_of(only_span(otel)) == (1200, 50)
    assert attrs(only_span(otel))["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)


def test_stream_end_fault_still_ends_the_span(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ChatStreamHandler, "on_end", raiser)
    assert len(list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))) == 22
    assert only_span(otel).end_time is not None


def test_planning_fault_passes_the_call_through_untouched(
    otel: Otel,
    instrumented: LLMCostInstrumentor,
    sim: Simulator,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_chat, "endpoint_of", raiser)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert len(chunks) == 22
    assert "stream_options" not in body(sim)
    assert otel.genai_spans() == []


def test_raw_fault_still_returns_the_sdk_object(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_raw._Tracked, "parsed", raiser)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO
    ) as response:
        assert type(response.parse()) is ChatCompletion
    assert only_span(otel).end_time is not None


def test_metrics(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    metrics = otel.metrics()
    common = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": sim.port,
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in metrics["gen_ai.client.token.usage"]}
    assert {k: (p.sum, dict(p.attributes)) for k, p in tokens.items()} == {
        "input": (1200, {**common, "gen_ai.token.type": "input"}),
        "output": (50, {**common, "gen_ai.token.type": "output"}),
    }
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.count == 1 and dict(duration.attributes) == common
    (cost,) = metrics["llmcost.client.cost"]
    assert cost.value == pytest.approx(mini_cost(176, 1024, 50)) and dict(cost.attributes) == common
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics


class _Downgrade(Guard):
    def before(self, call: LLMCall) -> None:
        call.model_override = "gpt-4o-mini"

    def after(self, call: LLMCall) -> None:
        pass


@pytest.mark.parametrize("instrumentor_kwargs", [{"guard": _Downgrade()}])
def test_budget_downgrade_changes_only_the_model(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert body(sim)["model"] == "gpt-4o-mini"
    assert body(sim)["stream_options"] == {"include_usage": True}
    span = only_span(otel)
    assert span.name == "chat gpt-4o-mini"
    assert attrs(span)["llmcost.budget.downgraded_from"] == "gpt-4o"
    assert "llmcost.usage.estimated" not in attrs(span)
