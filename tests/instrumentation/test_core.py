"""The instrumentation core, exercised through a fake SDK: spans, cost, streams, faults, guard."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._settings import Settings
from otel_llmcost.instrumentation._telemetry import Guard, Telemetry
from otel_llmcost.instrumentation._wrap import Wrapping
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import from_openai
from tests.conftest import Otel
from tests.instrumentation import _fake_sdk, _fake_wrappers


def make(otel: Otel, pricer: Pricer, guard: Guard | None = None, **settings: Any) -> Wrapping:
    telemetry = Telemetry(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        settings=Settings(**settings),
        pricer=pricer,
        guard=guard,
    )
    wrapping = Wrapping(telemetry, _fake_wrappers.wrap_specs())
    wrapping.install()
    return wrapping


@pytest.fixture
def wrapped(otel: Otel, pricer: Pricer) -> Iterator[Wrapping]:
    wrapping = make(otel, pricer)
    yield wrapping
    wrapping.remove()


def test_call_becomes_a_priced_genai_span(otel: Otel, wrapped: Wrapping) -> None:
    client = _fake_sdk.Client()
    result = client.create(model="gpt-4o-mini", prompt="hello")
    assert result["id"] == "resp-1"  # the SDK's own object, unchanged
    (span,) = otel.spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    # 176 uncached × 0.15 + 1024 cached × 0.075 + 50 × 0.60 per 1M (gpt-4o-mini-2024-07-18)
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "api.example.test",
        "server.port": 443,
        "llmcost.prompt.fingerprint": attrs["llmcost.prompt.fingerprint"],
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "resp-1",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.cost.amount": 0.0001332,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmcost.cost.input": 0.0000264,
        "llmcost.cost.output": 0.00003,
        "llmcost.cost.cache_read": 0.0000768,
        "llmcost.pricing.model": "openai/gpt-4o-mini-2024-07-18",
        "llmcost.pricing.version": Pricer().version,
    }
    assert len(attrs["llmcost.prompt.fingerprint"]) == 16  # type: ignore[arg-type]
    assert type(attrs["gen_ai.usage.input_tokens"]) is int
    assert type(attrs["gen_ai.usage.cost.amount"]) is float
    assert span.status.status_code == StatusCode.UNSET


def test_metrics(otel: Otel, wrapped: Wrapping) -> None:
    _fake_sdk.Client().create(model="gpt-4o-mini", prompt="hello")
    metrics = otel.metrics()
    tokens = {p.attributes["gen_ai.token.type"]: p for p in metrics["gen_ai.client.token.usage"]}
    assert (tokens["input"].sum, tokens["output"].sum) == (1200, 50)
    assert tokens["input"].attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.count == 1
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    (cost,) = metrics["llmcost.client.cost"]
    assert cost.value == pytest.approx(0.0001332, abs=1e-12)
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics


def test_sdk_exception_reaches_app_unchanged(otel: Otel, wrapped: Wrapping) -> None:
    client = _fake_sdk.Client()
    with pytest.raises(_fake_sdk.FakeError) as err:
        client.create(model="gpt-4o", prompt="x", fail=True)
    assert str(err.value) == "provider said no"
    (span,) = otel.spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "FakeError"
    assert "gen_ai.usage.cost.amount" not in span.attributes


def test_nested_wrapped_methods_make_one_span(otel: Otel, wrapped: Wrapping) -> None:
    _fake_sdk.Client().create_nested(model="gpt-4o", prompt="x")
    assert len(otel.spans()) == 1


def test_suppressed_instrumentation_makes_no_span(otel: Otel, wrapped: Wrapping) -> None:
    with suppress_instrumentation():
        _fake_sdk.Client().create(model="gpt-4o", prompt="x")
    assert otel.spans() == []


def test_unknown_model_is_unpriced_not_zero(otel: Otel, wrapped: Wrapping) -> None:
    _fake_sdk.Client().create(model="acme-llm-9", prompt="x")
    (span,) = otel.spans()
    assert span.attributes["llmcost.cost.unpriced"] is True
    assert "gen_ai.usage.cost.amount" not in span.attributes
    assert span.attributes["gen_ai.usage.input_tokens"] == 1200


def test_flags_max_tokens_exceeded(otel: Otel, wrapped: Wrapping) -> None:
    _fake_sdk.Client().create(model="gpt-4o", prompt="x", max_tokens=10)
    (span,) = otel.spans()
    assert span.attributes["gen_ai.request.max_tokens"] == 10
    assert span.attributes["llmcost.response.max_tokens_exceeded"] is True


@pytest.fixture
def faulty_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake stream handler's per-item accounting raises (a bug of ours)."""

    def boom(self: Any, item: Any) -> bool:
        raise RuntimeError("our bug")

    monkeypatch.setattr(_fake_wrappers.Handler, "on_item", boom)


def _assert_read_once(otel: Otel) -> None:
    """The fake stream (12 in, 2 out) was priced once and its first chunk counted once."""
    (span,) = otel.spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    (first_chunk,) = otel.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert first_chunk.count == 1


class TestStreams:
    def test_stream_hides_usage_chunk_and_prices(self, otel: Otel, wrapped: Wrapping) -> None:
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        assert isinstance(stream, _fake_sdk.Stream)  # the proxy passes isinstance
        assert stream.extra == "sdk attribute"
        assert stream.helper() == "still works"
        with stream as s:
            assert s is stream
            chunks = list(s)
        assert chunks == [{"text": "hello "}, {"text": "world"}]
        (span,) = otel.spans()
        assert span.attributes["gen_ai.usage.input_tokens"] == 12
        assert span.attributes["gen_ai.usage.output_tokens"] == 2
        assert span.attributes["llmcost.request.streaming"] is True
        assert "gen_ai.client.operation.time_to_first_chunk" in otel.metrics()

    def test_next_and_a_for_loop_read_one_stream_the_same_way(self, otel: Otel, wrapped: Wrapping) -> None:
        # ``for`` takes the proxy's generator, ``next()`` its __next__: mixed, every chunk comes
        # once, in order, the usage chunk is hidden from both and the first chunk counted once.
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        assert next(stream) == {"text": "hello "}
        for chunk in stream:
            assert chunk == {"text": "world"}
            break  # leaves the generator suspended: the stream stays open
        assert otel.spans() == []
        with pytest.raises(StopIteration):
            next(stream)
        _assert_read_once(otel)

    def test_next_alone_hides_the_usage_chunk_and_prices(self, otel: Otel, wrapped: Wrapping) -> None:
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        chunks = []
        while True:
            try:
                chunks.append(next(stream))
            except StopIteration:
                break
        assert chunks == [{"text": "hello "}, {"text": "world"}]
        (span,) = otel.spans()
        assert span.attributes["gen_ai.usage.output_tokens"] == 2

    def test_early_close_ends_span_once(self, otel: Otel, wrapped: Wrapping) -> None:
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        for _ in stream:
            break
        stream.close()
        stream.close()
        assert stream.closed is True
        assert len(otel.spans()) == 1

    def test_error_mid_stream(self, otel: Otel, wrapped: Wrapping, monkeypatch: pytest.MonkeyPatch) -> None:
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        stream.__wrapped__.fail_after = 1
        with pytest.raises(_fake_sdk.FakeError):
            list(stream)
        (span,) = otel.spans()
        assert span.attributes["error.type"] == "FakeError"

    def test_garbage_collected_stream_ends_span(self, otel: Otel, wrapped: Wrapping) -> None:
        stream = _fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True)
        del stream
        gc.collect()
        assert len(otel.spans()) == 1

    @pytest.mark.usefixtures("faulty_handler")
    def test_handler_fault_never_reaches_app(self, otel: Otel, wrapped: Wrapping) -> None:
        chunks = list(_fake_sdk.Client().create(model="gpt-4o", prompt="x", stream=True))
        assert len(chunks) == 3  # nothing hidden, nothing lost
        assert len(otel.spans()) == 1

    def test_async(self, otel: Otel, wrapped: Wrapping) -> None:
        async def go() -> list[Any]:
            client = _fake_sdk.Client()
            result = await client.acreate(model="gpt-4o", prompt="x")
            assert result["id"] == "resp-1"
            stream = await client.acreate(model="gpt-4o", prompt="x", stream=True)
            items = [item async for item in stream]
            await stream.close()
            return items

        assert asyncio.run(go()) == [{"text": "hi"}]
        spans = otel.spans()
        assert [s.attributes["gen_ai.usage.input_tokens"] for s in spans] == [1200, 5]


class TestAsyncStreams:
    """``async for`` takes the proxy's async generator, ``anext()`` its __anext__."""

    CHUNKS: list[dict[str, Any]] = [
        {"text": "hello "},
        {"text": "world"},
        {"usage": {"prompt_tokens": 12, "completion_tokens": 2}},
    ]

    @staticmethod
    async def _stream(**fake: Any) -> Any:
        stream = await _fake_sdk.Client().acreate(model="gpt-4o", prompt="x", stream=True)
        stream.__wrapped__.chunks = list(TestAsyncStreams.CHUNKS)
        for name, value in fake.items():
            setattr(stream.__wrapped__, name, value)
        return stream

    def test_anext_and_async_for_read_one_stream_the_same_way(self, otel: Otel, wrapped: Wrapping) -> None:
        async def go() -> list[Any]:
            stream = await self._stream()
            seen = [await anext(stream)]
            async for chunk in stream:
                seen.append(chunk)
                break  # leaves the async generator suspended: the stream stays open
            assert otel.spans() == []
            with pytest.raises(StopAsyncIteration):
                await anext(stream)
            return seen

        assert asyncio.run(go()) == [{"text": "hello "}, {"text": "world"}]
        _assert_read_once(otel)

    def test_async_for_hides_the_usage_chunk_and_prices(self, otel: Otel, wrapped: Wrapping) -> None:
        async def go() -> list[Any]:
            return [chunk async for chunk in await self._stream()]

        assert asyncio.run(go()) == [{"text": "hello "}, {"text": "world"}]
        (span,) = otel.spans()
        assert span.attributes["gen_ai.usage.output_tokens"] == 2
        assert "error.type" not in span.attributes

    def test_error_mid_stream_reaches_the_app_and_the_span(self, otel: Otel, wrapped: Wrapping) -> None:
        async def go() -> list[Any]:
            seen = []
            async for chunk in await self._stream(fail_after=1):
                seen.append(chunk)
            return seen

        with pytest.raises(_fake_sdk.FakeError, match="stream broke"):
            asyncio.run(go())
        (span,) = otel.spans()
        assert span.attributes["error.type"] == "FakeError"

    @pytest.mark.usefixtures("faulty_handler")
    def test_handler_fault_never_reaches_the_app(self, otel: Otel, wrapped: Wrapping) -> None:
        async def go() -> list[Any]:
            return [chunk async for chunk in await self._stream()]

        assert len(asyncio.run(go())) == 3  # nothing hidden, nothing lost
        assert len(otel.spans()) == 1


class TestOwnFaults:
    def test_pricing_raises(
        self, otel: Otel, wrapped: Wrapping, monkeypatch: pytest.MonkeyPatch, pricer: Pricer
    ) -> None:
        def boom(*a: Any, **k: Any) -> None:
            raise RuntimeError("pricing bug")

        monkeypatch.setattr(pricer, "price_entry", boom)
        monkeypatch.setattr(pricer, "price_femtos", boom)
        result = _fake_sdk.Client().create(model="gpt-4o", prompt="x")
        assert result["id"] == "resp-1"
        (span,) = otel.spans()
        assert span.end_time is not None

    def test_span_setting_raises(
        self, otel: Otel, wrapped: Wrapping, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def boom(self: LLMCall) -> dict[str, Any]:
            raise RuntimeError("attribute bug")

        monkeypatch.setattr(LLMCall, "_result_attributes", boom)
        assert _fake_sdk.Client().create(model="gpt-4o", prompt="x")["id"] == "resp-1"
        assert len(otel.spans()) == 1

    def test_request_description_raises(
        self, otel: Otel, wrapped: Wrapping, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_fake_wrappers, "_request", lambda kwargs: 1 / 0)
        assert _fake_sdk.Client().create(model="gpt-4o", prompt="x")["id"] == "resp-1"
        assert otel.spans() == []


class TestContent:
    def test_content_off_by_default(self, otel: Otel, wrapped: Wrapping) -> None:
        _fake_sdk.Client().create(model="gpt-4o", prompt="secret prompt")
        (span,) = otel.spans()
        assert "gen_ai.input.messages" not in span.attributes
        assert "secret prompt" not in repr(dict(span.attributes))

    def test_content_opt_in(self, otel: Otel, pricer: Pricer) -> None:
        wrapping = make(otel, pricer, capture_content=True)
        try:
            _fake_sdk.Client().create(model="gpt-4o", prompt="hello")
        finally:
            wrapping.remove()
        (span,) = otel.spans()
        assert span.attributes["gen_ai.input.messages"] == (
            '[{"role":"user","parts":[{"type":"text","content":"hello"}]}]'
        )
        assert span.attributes["gen_ai.output.messages"] == (
            '[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]'
        )

    def test_fingerprint_is_stable_and_keyed(self, otel: Otel, pricer: Pricer) -> None:
        for key in (None, None, b"k1"):
            wrapping = make(otel, pricer, fingerprint_key=key)
            _fake_sdk.Client().create(model="gpt-4o", prompt="same")
            wrapping.remove()
        a, b, c = (s.attributes["llmcost.prompt.fingerprint"] for s in otel.spans())
        assert a == b
        assert a != c


def test_uninstrument_restores_originals(otel: Otel, pricer: Pricer) -> None:
    original = _fake_sdk.Client.__dict__["create"]
    wrapping = make(otel, pricer)
    assert _fake_sdk.Client.__dict__["create"] is not original
    wrapping.remove()
    assert _fake_sdk.Client.__dict__["create"] is original
    _fake_sdk.Client().create(model="gpt-4o", prompt="x")
    assert otel.spans() == []


class _BlockingGuard(Guard):
    def before(self, call: LLMCall) -> None:
        raise BudgetExceededError(
            "team-monthly",
            scope={"team": "a"},
            spent_usd=None,
            limit_usd=None,
            spent_tokens=10,
            limit_tokens=10,
        )

    def after(self, call: LLMCall) -> None:
        pass


class _DowngradeGuard(Guard):
    def __init__(self) -> None:
        self.settled: list[Any] = []

    def before(self, call: LLMCall) -> None:
        call.model_override = "gpt-4o-mini"

    def after(self, call: LLMCall) -> None:
        self.settled.append(call.cost.total if call.cost else None)


def test_guard_blocks_before_the_sdk_is_called(otel: Otel, pricer: Pricer) -> None:
    wrapping = make(otel, pricer, guard=_BlockingGuard())
    client = _fake_sdk.Client()
    try:
        with pytest.raises(BudgetExceededError):
            client.create(model="gpt-4o", prompt="x")
    finally:
        wrapping.remove()
    assert client.sent == []
    (span,) = otel.spans()
    assert span.attributes["error.type"] == "BudgetExceededError"


def test_guard_downgrades_the_model(otel: Otel, pricer: Pricer) -> None:
    guard = _DowngradeGuard()
    wrapping = make(otel, pricer, guard=guard)
    client = _fake_sdk.Client()
    try:
        client.create(model="gpt-4o", prompt="x")
    finally:
        wrapping.remove()
    assert client.sent == [{"model": "gpt-4o-mini", "prompt": "x"}]
    (span,) = otel.spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["llmcost.budget.downgraded_from"] == "gpt-4o"
    assert guard.settled and guard.settled[0] is not None


class _CostGuard(Guard):
    def __init__(self) -> None:
        self.costs: list[Any] = []

    def after(self, call: LLMCall) -> None:
        self.costs.append(call.cost)


@pytest.mark.parametrize("integer_path", [True, False], ids=["femto-dollars", "decimal"])
def test_both_pricing_paths_give_the_same_span_metrics_and_cost(
    otel: Otel, pricer: Pricer, monkeypatch: pytest.MonkeyPatch, integer_path: bool
) -> None:
    if not integer_path:  # what a discount or a price finer than a femto-dollar takes
        monkeypatch.setattr(pricer, "price_femtos", lambda *a, **k: None)
    guard = _CostGuard()
    wrapping = make(otel, pricer, guard=guard)
    _fake_sdk.Client().create(model="gpt-4o-mini", prompt="hello")
    wrapping.remove()
    (span,) = otel.spans()
    attrs = dict(span.attributes or {})
    assert {
        k: v
        for k, v in attrs.items()
        if k.startswith(("gen_ai.usage.cost", "llmcost.cost", "llmcost.pricing"))
    } == {
        "gen_ai.usage.cost.amount": 0.0001332,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmcost.cost.input": 0.0000264,
        "llmcost.cost.output": 0.00003,
        "llmcost.cost.cache_read": 0.0000768,
        "llmcost.pricing.model": "openai/gpt-4o-mini-2024-07-18",
        "llmcost.pricing.version": pricer.version,
    }
    assert all(
        type(v) is float for k, v in attrs.items() if k.startswith(("llmcost.cost.", "gen_ai.usage.cost.a"))
    )
    (cost,) = otel.metrics()["llmcost.client.cost"]
    assert cost.value == 0.0001332
    (settled,) = guard.costs  # call.cost: the Decimal Cost, as the guard settles it
    entry = pricer.resolve("gpt-4o-mini-2024-07-18", "openai")
    assert entry is not None
    usage = from_openai(
        {"prompt_tokens": 1200, "completion_tokens": 50, "prompt_tokens_details": {"cached_tokens": 1024}}
    )
    assert settled == pricer.price_entry(entry, usage)


def test_detached_context_is_restored(otel: Otel, wrapped: Wrapping) -> None:
    before = context.get_current()
    _fake_sdk.Client().create(model="gpt-4o", prompt="x")
    assert context.get_current() == before
