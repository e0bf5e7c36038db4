"""otel_llmcost.attribute: baggage that follows tasks, threads and requests onto GenAI spans."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.baggage.propagation import W3CBaggagePropagator

from otel_llmcost import attribute, current_attribution
from otel_llmcost.instrumentation import _threads
from otel_llmcost.instrumentation._settings import Settings
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapping
from otel_llmcost.pricing import Pricer
from tests.conftest import Otel
from tests.instrumentation import _fake_sdk, _fake_wrappers


@pytest.fixture
def wrapped(otel: Otel, pricer: Pricer) -> Iterator[None]:
    telemetry = Telemetry(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        settings=Settings(),
        pricer=pricer,
    )
    wrapping = Wrapping(telemetry, [*_fake_wrappers.wrap_specs(), *_threads.wrap_specs()])
    wrapping.install()
    yield
    wrapping.remove()


def attribution_of(otel: Otel) -> list[dict[str, object]]:
    return [
        {
            k: v
            for k, v in (s.attributes or {}).items()
            if k.startswith("llmcost.")
            and k.split(".")[1] in ("team", "project", "user", "feature", "thread", "run")
        }
        for s in otel.spans()
    ]


def test_context_manager_and_nesting(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()
    with attribute(team="search", project="ranker"):
        client.create(model="gpt-4o", prompt="a")
        with attribute(user="u-1", team="search-infra"):
            assert current_attribution() == {"team": "search-infra", "project": "ranker", "user": "u-1"}
            client.create(model="gpt-4o", prompt="b")
        client.create(model="gpt-4o", prompt="c")
    client.create(model="gpt-4o", prompt="d")
    assert attribution_of(otel) == [
        {"llmcost.team": "search", "llmcost.project": "ranker"},
        {"llmcost.team": "search-infra", "llmcost.project": "ranker", "llmcost.user": "u-1"},
        {"llmcost.team": "search", "llmcost.project": "ranker"},
        {},
    ]


def test_decorator_sync_and_async(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()

    @attribute(feature="summarize", run="r-7")
    def summarize() -> None:
        client.create(model="gpt-4o", prompt="x")

    @attribute(feature="classify")
    async def classify() -> None:
        await client.acreate(model="gpt-4o", prompt="y")

    summarize()
    asyncio.run(classify())
    assert attribution_of(otel) == [
        {"llmcost.feature": "summarize", "llmcost.run": "r-7"},
        {"llmcost.feature": "classify"},
    ]


def test_follows_asyncio_tasks(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()

    async def worker(i: int) -> None:
        with attribute(thread=f"t-{i}"):
            await asyncio.sleep(0)
            await client.acreate(model="gpt-4o", prompt=str(i))

    async def main() -> None:
        with attribute(team="agents"):
            await asyncio.gather(*(asyncio.create_task(worker(i)) for i in range(3)))

    asyncio.run(main())
    assert sorted(a["llmcost.thread"] for a in attribution_of(otel)) == ["t-0", "t-1", "t-2"]  # type: ignore[type-var]
    assert {a["llmcost.team"] for a in attribution_of(otel)} == {"agents"}


def test_follows_threads_and_pools(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()
    with attribute(team="batch"):
        thread = threading.Thread(target=lambda: client.create(model="gpt-4o", prompt="t"))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda i: client.create(model="gpt-4o", prompt=str(i)), range(2)))
    assert [a.get("llmcost.team") for a in attribution_of(otel)] == ["batch"] * 3


def test_goes_out_with_requests_as_w3c_baggage() -> None:
    carrier: dict[str, str] = {}
    with attribute(team="search", user="u-9"):
        W3CBaggagePropagator().inject(carrier)
    assert sorted(carrier["baggage"].split(",")) == ["llmcost.team=search", "llmcost.user=u-9"]


def test_none_and_empty_values_are_ignored() -> None:
    with attribute(team=None, project="", user="u"):
        assert current_attribution() == {"user": "u"}
    assert current_attribution() == {}
