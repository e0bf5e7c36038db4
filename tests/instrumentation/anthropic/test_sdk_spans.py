"""The anthropic SDK's own spans: suppressed for the calls we record, kept for everything else.

Every client here is built with ``open_telemetry={"tracer_provider": otel.tracer_provider}``, so
an SDK span would land in the same exporter as ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anthropic
import pytest
import wrapt
from anthropic.resources.beta.messages import messages as beta_messages
from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import (
    DEPRECATED_MODEL,
    KWARGS,
    MESSAGES,
    MODEL,
    assert_cache_scenario,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL]

SDK_SCOPE = "com.anthropic.sdk.python"


def scopes(otel: Otel) -> list[str]:
    return [s.instrumentation_scope.name for s in otel.genai_spans() if s.instrumentation_scope]


def traceparent_span_id(sim: Simulator) -> str | None:
    header = sim.requests[-1].header("traceparent")
    return header.split("-")[2] if header else None


def test_sdk_span_without_us(client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel) -> None:
    """The baseline: the SDK emits its own GenAI span and propagates it (input incl. cache)."""
    client.messages.create(**KWARGS)

    (span,) = otel.genai_spans()
    assert span.instrumentation_scope is not None and span.instrumentation_scope.name == SDK_SCOPE
    assert span.name == "anthropic.messages.create"
    assert (span.attributes or {})["gen_ai.usage.input_tokens"] == 2000
    assert span.context is not None
    assert traceparent_span_id(cache_sim) == f"{span.context.span_id:016x}"


@pytest.mark.usefixtures("instrumented")
def test_one_genai_span_per_call_sync(client: anthropic.Anthropic, otel: Otel) -> None:
    client.messages.create(**KWARGS)
    for _ in client.messages.create(**KWARGS, stream=True):
        pass
    with client.messages.stream(**KWARGS) as stream:
        stream.until_done()
    client.messages.parse(**KWARGS)
    client.beta.messages.create(**KWARGS)
    with client.beta.messages.stream(**KWARGS) as stream:
        stream.get_final_message()
    client.beta.messages.parse(**KWARGS)
    client.messages.with_raw_response.create(**KWARGS)
    with client.messages.with_raw_response.create(**KWARGS, stream=True).parse() as raw_stream:
        list(raw_stream)
    with client.messages.with_streaming_response.create(**KWARGS) as response:
        response.parse()
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        list(response.iter_lines())

    assert scopes(otel) == ["otel_llmcost.instrumentation"] * 11
    for span in otel.genai_spans():
        assert_cache_scenario(span, streaming=bool((span.attributes or {}).get("llmcost.request.streaming")))


@pytest.mark.usefixtures("instrumented")
def test_one_genai_span_per_call_async(
    make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    async def run() -> None:
        async with make_async() as client:
            await client.messages.create(**KWARGS)
            async for _ in await client.messages.create(**KWARGS, stream=True):
                pass
            async with client.messages.stream(**KWARGS) as stream:
                await stream.until_done()
            await client.messages.parse(**KWARGS)
            await client.beta.messages.create(**KWARGS)
            async with client.beta.messages.stream(**KWARGS) as stream:
                await stream.get_final_message()
            await client.beta.messages.parse(**KWARGS)
            await client.messages.with_raw_response.create(**KWARGS)
            async with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
                await response.read()

    asyncio.run(run())
    assert scopes(otel) == ["otel_llmcost.instrumentation"] * 9


@pytest.mark.usefixtures("instrumented")
def test_calls_we_do_not_record_keep_the_sdk_span(client: anthropic.Anthropic, otel: Otel) -> None:
    count = client.messages.count_tokens(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    with client.messages.with_streaming_response.count_tokens(model=MODEL, messages=MESSAGES) as response:  # type: ignore[arg-type]
        response.read()
    with suppress_instrumentation():
        client.messages.create(**KWARGS)
        with client.messages.with_streaming_response.create(**KWARGS) as response:
            response.read()

    assert count.input_tokens == 2000
    names = [(s.instrumentation_scope.name if s.instrumentation_scope else "", s.name) for s in otel.spans()]
    assert names == [
        (SDK_SCOPE, "anthropic.messages.count_tokens"),
        (SDK_SCOPE, "anthropic.messages.count_tokens"),
        (SDK_SCOPE, "anthropic.messages.create"),  # our instrumentation suppressed
        (SDK_SCOPE, "anthropic.messages.create"),
    ]


def test_uninstrument_brings_the_sdk_span_back(
    client: anthropic.Anthropic, otel: Otel, pricer: object, cache_sim: Simulator
) -> None:
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, pricer=pricer, guard=None)
    try:
        client.messages.create(**KWARGS)
        stale = beta_messages.Messages.__dict__["create"]  # e.g. a platform class's copy
    finally:
        instrumentor.uninstrument()
    client.messages.create(**KWARGS)
    stale.__get__(client.beta.messages, beta_messages.Messages)(**KWARGS)

    assert scopes(otel) == ["otel_llmcost.instrumentation", SDK_SCOPE, SDK_SCOPE]


def test_uninstrument_restores_the_originals(otel: Otel) -> None:
    from anthropic import _base_client
    from anthropic.lib.bedrock import _beta_messages as bedrock_beta
    from anthropic.lib.vertex import _beta_messages as vertex_beta
    from anthropic.resources.messages import messages as stable_messages

    owners = [
        getattr(module, cls)
        for module in (stable_messages, beta_messages, bedrock_beta, vertex_beta)
        for cls in ("Messages", "AsyncMessages")
    ]
    before = {(o, m): o.__dict__[m] for o in owners for m in ("create", "parse", "stream")}
    hook = _base_client.start_api_call_span

    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, guard=None)
    try:
        for (owner, method), original in before.items():
            current = owner.__dict__[method]
            assert isinstance(current, wrapt.FunctionWrapper) and current.__wrapped__ is original
        assert isinstance(_base_client.start_api_call_span, wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()

    assert all(owner.__dict__[method] is original for (owner, method), original in before.items())
    assert _base_client.start_api_call_span is hook


@pytest.mark.usefixtures("instrumented")
def test_trace_context_still_propagated(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    """In our calls the SDK propagates OUR GenAI span (current while the SDK runs; its own no
    longer exists), which is a child of the caller's span."""
    with otel.tracer_provider.get_tracer("app").start_as_current_span("handler") as parent:
        client.messages.create(**KWARGS)
        with client.messages.stream(**KWARGS) as stream:
            stream.until_done()
    parent_context = parent.get_span_context()
    ours = otel.genai_spans()
    assert len(ours) == 2
    assert all(s.parent is not None and s.parent.span_id == parent_context.span_id for s in ours)
    for request, span in zip(cache_sim.requests, ours, strict=True):
        ctx = span.get_span_context()
        assert (
            request.header("traceparent")
            == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
        )

    client.messages.create(**KWARGS)  # no app span: our span is the root and still propagated
    root = otel.genai_spans()[-1]
    assert root.parent is None
    rc = root.get_span_context()
    assert cache_sim.requests[-1].header("traceparent") == (
        f"00-{rc.trace_id:032x}-{rc.span_id:016x}-{rc.trace_flags:02x}"
    )


def test_requests_differ_only_in_trace_headers(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel, pricer: object
) -> None:
    def calls() -> None:
        client.messages.create(**KWARGS)
        for _ in client.messages.create(**KWARGS, stream=True):
            pass
        with client.messages.stream(**KWARGS) as stream:
            stream.until_done()
        client.beta.messages.parse(**KWARGS, betas=["files-api-2025-04-14"])

    calls()
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, pricer=pricer, guard=None)
    try:
        calls()
    finally:
        instrumentor.uninstrument()

    plain, ours = cache_sim.requests[:4], cache_sim.requests[4:]
    assert len(ours) == 4
    for before, after in zip(plain, ours, strict=True):
        assert (before.method, before.path, before.query, before.body) == (
            after.method,
            after.path,
            after.query,
            after.body,
        )
        # The only difference: traceparent names the SDK's span before, ours after.
        strip = {"traceparent"}
        assert {k: v for k, v in before.headers.items() if k not in strip} == {
            k: v for k, v in after.headers.items() if k not in strip
        }
        assert before.header("traceparent") is not None
        assert after.header("traceparent") is not None
