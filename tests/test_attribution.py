"""otel_llmcost.attribute: baggage that follows tasks, threads and requests onto GenAI spans."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
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


def test_follows_thread_subclasses_and_timers(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()

    class Worker(threading.Thread):
        def run(self) -> None:  # overrides run: the context still arrives
            client.create(model="gpt-4o", prompt="w")

    with attribute(team="workers"):
        worker = Worker()
        worker.start()
        timer = threading.Timer(0, lambda: client.create(model="gpt-4o", prompt="t"))
        timer.start()
        worker.join()
        timer.join()
    assert [a.get("llmcost.team") for a in attribution_of(otel)] == ["workers"] * 2


def test_decorated_generators_are_attributed_while_they_run(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()
    seen: list[dict[str, str]] = []

    @attribute(feature="stream-reply", user="u-3")
    def reply(n: int) -> Iterator[int]:
        try:
            for i in range(n):
                client.create(model="gpt-4o", prompt=str(i))
                got = yield i
                seen.append({"sent": str(got), **current_attribution()})
        finally:
            seen.append({"finally": "", **current_attribution()})
        return n

    items = []
    for item in reply(2):
        items.append(item)
        assert current_attribution() == {}  # the caller's code between items is not attributed
    assert items == [0, 1]

    gen = reply(3)
    assert next(gen) == 0 and gen.send("hello") == 1
    gen.close()  # the body's finally runs attributed

    def outer() -> Iterator[int]:
        result = yield from reply(1)
        assert result == 1

    assert list(outer()) == [0]
    attributed = {"llmcost.feature": "stream-reply", "llmcost.user": "u-3"}
    assert attribution_of(otel) == [attributed] * 5
    expected = {"feature": "stream-reply", "user": "u-3"}
    assert seen == [
        {"sent": "None", **expected},
        {"sent": "None", **expected},
        {"finally": "", **expected},
        {"sent": "hello", **expected},
        {"finally": "", **expected},
        {"sent": "None", **expected},
        {"finally": "", **expected},
    ]


def test_a_thrown_exception_reaches_the_decorated_generator(wrapped: None) -> None:
    @attribute(team="t")
    def gen() -> Iterator[str]:
        try:
            yield "first"
        except ValueError as err:
            yield f"caught {err} as {current_attribution()}"

    g = gen()
    assert next(g) == "first"
    assert g.throw(ValueError("boom")) == "caught boom as {'team': 't'}"
    with pytest.raises(StopIteration):
        next(g)


def test_decorated_async_generators_are_attributed_while_they_run(otel: Otel, wrapped: None) -> None:
    client = _fake_sdk.Client()
    outside: list[dict[str, str]] = []

    @attribute(team="async-gen")
    async def chunks(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            await client.acreate(model="gpt-4o", prompt=str(i))
            yield i

    @attribute(team="echo")
    async def echo() -> AsyncIterator[str]:
        got = None
        while True:
            try:
                got = yield f"{got} {current_attribution()}"
            except KeyError:
                got = "thrown"

    async def main() -> list[int]:
        got = []
        async for item in chunks(3):
            outside.append(current_attribution())
            got.append(item)
        e = echo()
        assert await e.asend(None) == "None {'team': 'echo'}"
        assert await e.asend("x") == "x {'team': 'echo'}"
        assert await e.athrow(KeyError()) == "thrown {'team': 'echo'}"
        await e.aclose()
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    assert outside == [{}, {}, {}]
    assert attribution_of(otel) == [{"llmcost.team": "async-gen"}] * 3


def test_goes_out_with_requests_as_w3c_baggage() -> None:
    carrier: dict[str, str] = {}
    with attribute(team="search", user="u-9"):
        W3CBaggagePropagator().inject(carrier)
    assert sorted(carrier["baggage"].split(",")) == ["llmcost.team=search", "llmcost.user=u-9"]


def test_none_and_empty_values_are_ignored() -> None:
    with attribute(team=None, project="", user="u"):
        assert current_attribution() == {"user": "u"}
    assert current_attribution() == {}
