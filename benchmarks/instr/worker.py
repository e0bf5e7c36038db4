"""One timed run of one instrumentation against a mock OpenAI endpoint; prints a JSON result.

    python worker.py --impl ours --mode stream --calls 2000 --chunks 20 [--profile FILE]

Run by ``benchmarks/bench_instrumentation.py`` inside each implementation's own virtualenv
(``benchmarks/.venvs/<venv>``), so this file uses only the standard library and what that venv
holds: it must not import ``otel_llmcost`` except for ``--impl ours``.

Every implementation gets the same process shape: an SDK ``TracerProvider`` with a
``SimpleSpanProcessor`` over an exporter that only counts spans, a ``MeterProvider`` with an
``InMemoryMetricReader``, an SDK ``LoggerProvider`` without processors (GenAI events are built
but go nowhere), all set globally before the instrumentation is installed; the same
``openai.OpenAI`` client over ``httpx2.MockTransport`` answering canned bytes; the same
application code. The baseline installs no instrumentation, so "impl - baseline" is what the
instrumentation costs the application. Each process also measures itself with the
instrumentation switched off (see "switching" below): blocks of calls alternate, and every result
carries the paired on/off difference next to the plain on and off timings.

Prompt and completion content capture is off for every implementation (ours and openai-v2 by
default; openlit with ``capture_message_content=False``; OpenLLMetry's default-on capture with
``TRACELOOP_TRACE_CONTENT=false``) so all of them record the same kind of data.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Siblings, imported as top-level modules: this file runs as a script in foreign virtualenvs.
sys.path.insert(0, str(HERE))

from _canned import ATTRIBUTION_ATTRIBUTE, COST_ATTRIBUTES, MESSAGES, MODEL, make_handler  # noqa: E402
from _switch import PATCHED_MODULES, Switch, stable_snapshot  # noqa: E402

#: The implementations this worker knows, and the virtualenv each one runs in.
IMPLS: dict[str, str] = {
    "baseline": "baseline",
    "ours": "ours",
    "openai_v2": "openai_v2",
    "openllmetry": "openllmetry",
    "openlit": "openlit",
    # openlit with its GenAI metrics off (spans only), as it is often deployed.
    "openlit_spans": "openlit",
}
#: The distribution whose version a result reports for each implementation.
DISTRIBUTIONS: dict[str, str] = {
    "baseline": "openai",
    "ours": "otel-llmcost",
    "openai_v2": "opentelemetry-instrumentation-openai-v2",
    "openllmetry": "opentelemetry-instrumentation-openai",
    "openlit": "openlit",
    "openlit_spans": "openlit",
}
#: Span attributes that carry a cost: the semconv proposal (ours) and openlit's own name.


class CountingExporter:
    """A span exporter that drops spans (so export costs the same for everyone) but counts them
    and, while ``keep`` is set, keeps them for the verification call."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self._success = SpanExportResult.SUCCESS
        self.count = 0
        self.keep = False
        self.kept: list[Any] = []

    def export(self, spans: Sequence[Any]) -> Any:
        self.count += len(spans)
        if self.keep:
            self.kept.extend(spans)
        return self._success

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class Otel:
    """The SDK providers every implementation records into, set globally."""

    def __init__(self) -> None:
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        self.exporter = CountingExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))  # type: ignore[arg-type]
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.logger_provider = LoggerProvider()
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        _logs.set_logger_provider(self.logger_provider)

    def metric_names(self) -> list[str]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return sorted({m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics})


# --- the implementations ---------------------------------------------------------------------------
# Each installs itself and returns the per-call context the application enters (attribution for
# ours; nothing for the others, who have no such feature).

CallContext = Callable[[], contextlib.AbstractContextManager[Any]]


def setup_baseline(otel: Otel) -> CallContext:
    return contextlib.nullcontext


def setup_ours(otel: Otel) -> CallContext:
    import otel_llmcost
    from otel_llmcost.instrumentation import LLMCostInstrumentor

    LLMCostInstrumentor().instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    # We pay for attribution too: every call runs inside otel_llmcost.attribute(...), as a request
    # handler that attributes its LLM calls would.
    return lambda: otel_llmcost.attribute(team="bench")


def setup_openai_v2(otel: Otel) -> CallContext:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # type: ignore[import-not-found]

    OpenAIInstrumentor().instrument(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        logger_provider=otel.logger_provider,
    )
    return contextlib.nullcontext


def setup_openllmetry(otel: Otel) -> CallContext:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # type: ignore[import-not-found]

    OpenAIInstrumentor().instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    return contextlib.nullcontext


def _setup_openlit(otel: Otel, *, metrics: bool) -> CallContext:
    import openlit  # type: ignore[import-not-found]
    from openlit._instrumentors import MODULE_NAME_MAP  # type: ignore[import-not-found]

    openlit.init(
        application_name="bench",
        environment="bench",
        # A local price list: without it, init() downloads openlit's pricing.json from GitHub.
        pricing_json=str(HERE / "openlit_pricing.json"),
        capture_message_content=False,
        # Only the openai instrumentor: openlit otherwise patches every library it finds
        # (requests, urllib3, httpx …), which would be measured as openai overhead.
        disabled_instrumentors=[name for name in MODULE_NAME_MAP if name != "openai"],
        disable_metrics=not metrics,
        disable_events=True,
        collect_gpu_stats=False,
        collect_system_metrics=False,
    )
    # openlit reuses the global SDK providers set above (it detects them); nothing else to wire.
    return contextlib.nullcontext


SETUPS: dict[str, Callable[[Otel], CallContext]] = {
    "baseline": setup_baseline,
    "ours": setup_ours,
    "openai_v2": setup_openai_v2,
    "openllmetry": setup_openllmetry,
    "openlit": lambda otel: _setup_openlit(otel, metrics=True),
    "openlit_spans": lambda otel: _setup_openlit(otel, metrics=False),
}

#: Environment each implementation needs for an equal, offline comparison (see the module doc).
IMPL_ENV: dict[str, dict[str, str]] = {
    "openllmetry": {"TRACELOOP_TRACE_CONTENT": "false"},
    "openlit": {"OTEL_LOGS_EXPORTER": "none"},
    "openlit_spans": {"OTEL_LOGS_EXPORTER": "none"},
}


# --- the application ---------------------------------------------------------------------------


def make_client(chunks: int) -> Any:
    import httpx2
    import openai

    return openai.OpenAI(
        base_url="http://bench.invalid/v1",
        api_key="x",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(make_handler(chunks))),
    )


class Samples:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.cpu: list[int] = []  # thread CPU time per call: not inflated when the OS preempts us
        self.chunks: list[int] = []  # gaps between consecutive chunks the app received

    def extend(self, other: Samples) -> None:
        self.calls += other.calls
        self.cpu += other.cpu
        self.chunks += other.chunks


def call_nonstream(client: Any, ctx: CallContext, samples: Samples | None) -> dict[str, int]:
    create = client.chat.completions.create
    cpu_started = time.thread_time_ns()
    started = time.perf_counter_ns()
    with ctx():
        completion = create(model=MODEL, messages=MESSAGES, max_tokens=256)
        total = completion.usage.total_tokens
    if samples is not None:
        samples.calls.append(time.perf_counter_ns() - started)
        samples.cpu.append(time.thread_time_ns() - cpu_started)
    return {"total_tokens": total, "chunks": 0, "content_chunks": 0}


def call_stream(client: Any, ctx: CallContext, samples: Samples | None) -> dict[str, int]:
    create = client.chat.completions.create
    clock = time.perf_counter_ns
    seen = content = 0
    gaps: list[int] = []
    cpu_started = time.thread_time_ns()
    started = clock()
    with ctx():
        stream = create(model=MODEL, messages=MESSAGES, max_tokens=256, stream=True)
        previous = 0
        for chunk in stream:
            now = clock()
            if seen:  # the first chunk's wait includes the request itself
                gaps.append(now - previous)
            previous = now
            seen += 1
            if chunk.choices and chunk.choices[0].delta.content is not None:
                content += 1
    if samples is not None:
        samples.calls.append(clock() - started)
        samples.cpu.append(time.thread_time_ns() - cpu_started)
        samples.chunks.extend(gaps)
    return {"total_tokens": 0, "chunks": seen, "content_chunks": content}


def _summary(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "mean": statistics.fmean(ordered),
        "p10": ordered[int(len(ordered) * 0.1)],
        "p25": ordered[int(len(ordered) * 0.25)],
        "min": ordered[0],
        "n": len(ordered),
    }


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _describe_span(spans: list[Any]) -> dict[str, Any]:
    """What the implementation recorded for one call: the GenAI span's cost, attribution, usage."""
    genai = [s for s in spans if any(k.startswith("gen_ai.") for k in (s.attributes or {}))]
    if not genai:
        return {"spans": len(spans), "name": None, "cost": None, "cost_attribute": None}
    span = genai[-1]
    attributes = dict(span.attributes or {})
    cost_attribute = next((k for k in COST_ATTRIBUTES if k in attributes), None)
    input_tokens = attributes.get("gen_ai.usage.input_tokens", attributes.get("gen_ai.usage.prompt_tokens"))
    return {
        "spans": len(spans),
        "name": span.name,
        "cost": float(attributes[cost_attribute]) if cost_attribute else None,
        "cost_attribute": cost_attribute,
        "attribution": attributes.get(ATTRIBUTION_ATTRIBUTE),
        "input_tokens": input_tokens,
        "cache_read_tokens": attributes.get("gen_ai.usage.cache_read.input_tokens"),
        "attributes": len(attributes),
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One result per ``--mode``, in order, all from one process and one client."""
    for key, value in IMPL_ENV.get(args.impl, {}).items():
        os.environ.setdefault(key, value)
    otel = Otel()
    client = make_client(args.chunks)
    calls = {"nonstream": call_nonstream, "stream": call_stream}
    # Uninstrumented first, so every module the measured paths import lazily is loaded (and in the
    # "before" snapshot) by the time the instrumentation patches it.
    for mode in args.mode:
        for _ in range(3):
            calls[mode](client, contextlib.nullcontext, None)
    before = stable_snapshot()
    ctx = SETUPS[args.impl](otel)
    for mode in args.mode:
        for _ in range(args.warmup):  # lazy catalogs, caches, first-call imports of the instrumentation
            calls[mode](client, ctx, None)
    switch = Switch(before, stable_snapshot())
    if args.impl != "baseline" and not switch.changes:
        raise SystemExit(f"{args.impl}: instrumenting changed nothing in {PATCHED_MODULES}")
    return [measure(args, mode, calls[mode], otel, ctx, client, switch) for mode in args.mode]


Call = Callable[[Any, CallContext, "Samples | None"], dict[str, int]]


def measure(
    args: argparse.Namespace, mode: str, one: Call, otel: Otel, ctx: CallContext, client: Any, switch: Switch
) -> dict[str, Any]:
    states: dict[bool, Samples] = {True: Samples(), False: Samples()}
    pairs: dict[str, list[float]] = {"call_ns": [], "chunk_ns": [], "call_rel": [], "chunk_rel": []}
    spans = 0
    gc.collect()
    if args.profile:
        # Profiled: instrumented calls only (pairing would profile the baseline too).
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.calls):
            one(client, ctx, states[True])
        profiler.disable()
        _report_profile(profiler, f"{args.profile}.{mode}" if len(args.mode) > 1 else args.profile)
    else:
        blocks = -(-args.calls // args.block)
        for block in range(blocks):
            medians: dict[bool, tuple[float, float | None]] = {}
            # ABBA order: neither state always runs first after a switch.
            for on in (True, False) if block % 2 == 0 else (False, True):
                switch.set(on)
                call_ctx = ctx if on else contextlib.nullcontext
                for _ in range(2):  # a switch empties the interpreter's type caches: refill them
                    one(client, call_ctx, None)
                samples = Samples()
                count = otel.exporter.count
                for _ in range(args.block):
                    one(client, call_ctx, samples)
                if on:
                    spans += otel.exporter.count - count
                states[on].extend(samples)
                chunk = statistics.median(samples.chunks) if samples.chunks else None
                medians[on] = (statistics.median(samples.calls), chunk)
            # Absolute and relative: a busy machine slows both sides of a pair by the same factor,
            # which the ratio cancels and the difference does not.
            pairs["call_ns"].append(medians[True][0] - medians[False][0])
            pairs["call_rel"].append(medians[True][0] / medians[False][0] - 1)
            on_chunk, off_chunk = medians[True][1], medians[False][1]
            if on_chunk is not None and off_chunk is not None:
                pairs["chunk_ns"].append(on_chunk - off_chunk)
                pairs["chunk_rel"].append(on_chunk / off_chunk - 1)
        switch.set(True)
    timed = len(states[True].calls)

    # One more call, outside the timings, whose spans we keep and inspect.
    otel.exporter.kept.clear()
    otel.exporter.keep = True
    seen = one(client, ctx, None)
    otel.exporter.keep = False
    return {
        "impl": args.impl,
        "mode": mode,
        "calls": timed,
        "chunks": args.chunks,
        "warmup": args.warmup,
        "call_ns": _summary(states[True].calls),
        "call_cpu_ns": _summary(states[True].cpu),
        "chunk_ns": _summary(states[True].chunks),
        "off_call_ns": _summary(states[False].calls),
        "off_chunk_ns": _summary(states[False].chunks),
        # Medians over block pairs of (instrumented - switched off) block medians, in ns (*_ns) and
        # as a fraction of the switched-off median (*_rel).
        "paired": {key: statistics.median(v) if v else None for key, v in pairs.items()}
        | {"pairs": len(pairs["call_ns"])},
        "switched": switch.names(),
        "spans_per_call": spans / timed if not args.profile else None,
        "span": _describe_span(otel.exporter.kept),
        "app_chunks": {"total": seen["chunks"], "content": seen["content_chunks"]},
        # Cumulative over the process: with several --mode, later results include earlier metrics.
        "metrics": otel.metric_names(),
        "versions": {
            "impl": _dist_version(DISTRIBUTIONS[args.impl]),
            "openai": _dist_version("openai"),
            "httpx2": _dist_version("httpx2"),
            "opentelemetry-sdk": _dist_version("opentelemetry-sdk"),
        },
        "python": platform.python_version(),
    }


def _report_profile(profiler: Any, path: str) -> None:
    import pstats

    profiler.dump_stats(path)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--impl", required=True, choices=sorted(IMPLS))
    parser.add_argument(
        "--mode",
        choices=("nonstream", "stream"),
        action="append",
        help="nonstream (default) or stream; repeat to measure both in one process, one JSON line each.",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=1000,
        help="Timed calls in each state, rounded up to whole blocks (default 1000).",
    )
    parser.add_argument(
        "--chunks", type=int, default=20, help="Content chunks per streamed answer (default 20)."
    )
    parser.add_argument("--warmup", type=int, default=100, help="Untimed calls first (default 100).")
    parser.add_argument(
        "--block",
        type=int,
        default=20,
        help="Calls per block; blocks alternate instrumented / uninstrumented (default 20).",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile --calls instrumented calls (no pairing): stats to FILE, top entries to stderr.",
    )
    args = parser.parse_args(argv)
    args.mode = args.mode or ["nonstream"]
    if args.calls < 1 or args.chunks < 1 or args.block < 1 or args.warmup < 0:
        parser.error("--calls, --chunks and --block must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for result in run(args):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
