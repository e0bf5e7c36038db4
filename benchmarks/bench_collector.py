"""The collector end to end on one core (target: >= 20,000 GenAI spans/s over OTLP/gRPC).

The collector runs as ``otel-llmcost collector`` in a subprocess pinned to one CPU, with a
SQLite ledger in a temporary directory (the default engine, ``synchronous=FULL``); this process
is pinned to another CPU and keeps eight 512-span exports in flight over one gRPC channel. The
spans are our instrumentation's shape — OpenAI and Anthropic chat calls of four models, with
usage, cost and attribution (team, project, user, feature) — and every export carries new trace
ids, so every span becomes a ledger row, and later timestamps than the export before it (as
real traffic: an export holds the spans that ended in the last few seconds, so the ledger's
time-ordered indexes grow at their end; a template replayed with fixed timestamps would instead
insert every export at 512 scattered places, a pattern no exporter produces). Beside it, the raw protobuf decode rate of the same
payload in this process shows the floor the Python pipeline adds to. Memory is the collector's
RSS (psutil) idle, after warm-up and at the end: a bounded pipeline must not grow.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from benchmarks import Figure
from otel_llmcost.collector._senders import EXPORT_METHOD
from tests.collector import spans as S

SPANS = 512
IN_FLIGHT = 8  # exports in flight at once: several app processes feed one sidecar
_MARK = bytes.fromhex("5be1c0ffee5eed42")  # the first 8 bytes of every trace id, replaced per export
# Timestamps are fixed64 (little-endian): span i starts at _T0 + i µs and ends 1.5 s later. Only the
# low 16 bits of those values differ between spans; the high 6 bytes of each are replaced per
# export, so export n's spans start _STEP * n later than export 0's, in the same order.
_T0 = ((time.time_ns() - 3_600_000_000_000) >> 32) << 32  # an hour ago, low 32 bits clear
_DURATION = 1_500_000_000
_STEP = 1 << 24  # ~16.8 ms of span time per export: a million spans cover 33 s
_SPAN_GAP = 100  # ns between consecutive spans of an export: i * _SPAN_GAP < 2**16
_MODELS_OPENAI = (("gpt-4o", "gpt-4o-2024-08-06"), ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"))
_MODELS_ANTHROPIC = (
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
)


def _spec(i: int) -> S.SpanSpec:
    attribution = {
        "team": f"team-{i % 7}",
        "project": f"project-{i % 11}",
        "user": f"user-{i % 97}",
        "feature": f"f{i % 5}",
    }
    if i % 3:
        model, answered = _MODELS_OPENAI[i % 2]
        call = S.OpenAICall(
            model=model, response_model=answered, response_id=f"chatcmpl-{i}",
            prompt_tokens=900 + i, completion_tokens=40 + i % 300, cached_tokens=(i % 3) * 256,
        )  # fmt: skip
        spec = S.ours_openai(call, attribution=attribution)
    else:
        model, answered = _MODELS_ANTHROPIC[i % 2]
        call_a = S.AnthropicCall(
            model=model, response_model=answered, response_id=f"msg_{i}", input_tokens=100 + i,
            output_tokens=30 + i % 200, cache_read_input_tokens=(i % 4) * 512, cache_creation_input_tokens=(i % 2) * 300,
        )  # fmt: skip
        spec = S.ours_anthropic(call_a, attribution=attribution)
    return spec.but(
        trace_id=_MARK + i.to_bytes(8, "big"),
        span_id=(i + 1).to_bytes(8, "big"),
        start_ns=_T0 + i * _SPAN_GAP,
        end_ns=_T0 + _DURATION + i * _SPAN_GAP,
    )


def _high(ns: int) -> bytes:
    """The high 6 bytes of a fixed64 timestamp as protobuf writes it (little-endian)."""
    return struct.pack("<Q", ns)[2:]


def template() -> bytes:
    """One 512-span export; :func:`fresh` makes each copy's trace ids new."""
    assert (SPANS - 1) * _SPAN_GAP < 1 << 16
    body = S.request([_spec(i) for i in range(SPANS)]).SerializeToString()
    assert body.count(_MARK) == SPANS, "the trace id marker must occur once per span"
    assert body.count(_high(_T0)) == SPANS, "the start time must be replaceable once per span"
    assert body.count(_high(_T0 + _DURATION)) == SPANS, "the end time must be replaceable once per span"
    return bytes(body)


def fresh(body: bytes, n: int) -> bytes:
    """Export ``n``: new trace ids, timestamps ``n * _STEP`` later than the template's."""
    shift = n * _STEP
    return (
        body.replace(_MARK, struct.pack(">Q", 0x1000_0000_0000_0000 + n))
        .replace(_high(_T0), _high(_T0 + shift))
        .replace(_high(_T0 + _DURATION), _high(_T0 + _DURATION + shift))
    )


def _decode_rate(body: bytes, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        ExportTraceServiceRequest.FromString(body)
        best = min(best, time.process_time() - started)
    return SPANS / max(best, 1e-9)


def _start_collector(
    workdir: Path, cpu: int | None, ledger: str
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [
        sys.executable, "-c", "from otel_llmcost.cli import main; main()", "collector", "--otlp-grpc", "127.0.0.1:0",
        "--otlp-http", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--ledger", ledger,
    ]  # fmt: skip
    pin: Callable[[], None] | None = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=workdir, preexec_fn=pin)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise RuntimeError(f"the collector did not start: {line!r}")
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return process, fields


class _Load:
    """Keeps IN_FLIGHT exports in flight; an export refused as busy is sent again."""

    def __init__(self, target: str, body: bytes) -> None:
        self._channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
        self._export = self._channel.unary_unary(EXPORT_METHOD)
        self._body = body
        self.sent = 0  # exports
        self.refused = 0

    def run(self, exports: int) -> None:
        pending: deque[tuple[bytes, grpc.Future]] = deque()
        issued = 0
        while issued < exports or pending:
            while issued < exports and len(pending) < IN_FLIGHT:
                payload = fresh(self._body, self.sent + issued)
                pending.append((payload, self._export.future(payload, timeout=60)))
                issued += 1
            payload, future = pending.popleft()
            try:
                future.result()
            except grpc.RpcError as err:
                if err.code() not in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE):  # type: ignore[attr-defined]
                    raise
                self.refused += 1
                pending.append((payload, self._export.future(payload, timeout=60)))
        self.sent += exports

    def close(self) -> None:
        self._channel.close()


def _memory(proc: psutil.Process) -> tuple[int, int]:
    """(RSS, anonymous RSS). The SQLite ledger reads through mmap, so RSS also counts pages of the
    ledger file the OS may drop at any time; the anonymous part is the process's own memory."""
    info = proc.memory_info()
    return info.rss, info.rss - getattr(info, "shared", 0)


def _measure(ledger: str | None, body: bytes, quick: bool) -> dict[str, Any]:
    """Ingest through a collector subprocess pinned to one core; ``None`` = SQLite in a temp dir."""
    total_spans = 100_000 if quick else 1_000_000
    warm_exports = 40 if quick else 200
    exports = max(1, total_spans // SPANS - warm_exports)
    cpus = sorted(os.sched_getaffinity(0))
    collector_cpu, load_cpu = (cpus[0], cpus[1]) if len(cpus) > 1 else (None, None)
    original = os.sched_getaffinity(0)
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        url = ledger or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        process, fields = _start_collector(Path(tmp), collector_cpu, url)
        try:
            if load_cpu is not None:
                os.sched_setaffinity(0, {load_cpu})
            proc = psutil.Process(process.pid)
            time.sleep(1.0)  # let the interpreter settle: idle means idle, not still importing
            rss_idle = _memory(proc)
            load = _Load(fields["otlp_grpc"], body)
            load.run(warm_exports)
            rss_warm = _memory(proc)
            cpu_before = sum(proc.cpu_times()[:2])
            started = time.perf_counter()
            load.run(exports)
            elapsed = time.perf_counter() - started
            cpu_used = sum(proc.cpu_times()[:2]) - cpu_before
            rss_end = _memory(proc)
            load.close()
        finally:
            os.sched_setaffinity(0, original)
            process.terminate()
            code = process.wait(60)
        assert code == 0, f"the collector exited {code}"
    return {"exports": exports, "elapsed": elapsed, "cpu": cpu_used, "load": load,
            "rss": (rss_idle, rss_warm, rss_end)}  # fmt: skip


def _postgres_url() -> str | None:
    """A fresh schema on the test PostgreSQL (scripts/services.sh), or None when unreachable."""
    base = os.environ.get("OTEL_LLMCOST_TEST_PG", "postgresql://llmcost:llmcost@127.0.0.1:5432/llmcost_test")
    try:
        import psycopg

        psycopg.connect(base, connect_timeout=3).close()
    except Exception:
        return None
    return f"{base}?schema=bench_{os.getpid()}_{int(time.time())}"


def _drop_schema(url: str) -> None:
    import psycopg

    base, _, query = url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{query}" CASCADE')


def run(quick: bool = False) -> list[Figure]:
    body = template()
    decode = _decode_rate(body, 20 if quick else 100)
    result = _measure(None, body, quick)
    exports, elapsed, cpu_used, load = result["exports"], result["elapsed"], result["cpu"], result["load"]
    rss_idle, rss_warm, rss_end = result["rss"]
    measured = exports * SPANS
    rate = measured / elapsed
    mb = 1024 * 1024
    note = f"{load.sent * SPANS:,} spans, {load.refused} exports refused as busy and re-sent"
    return [
        Figure(
            "GenAI spans/s end to end (OTLP/gRPC, 512-span exports, collector on 1 core)",
            rate,
            "spans/s",
            target=20_000,
            note=note,
        ),
        Figure("collector CPU per span", cpu_used / measured * 1e6, "us/span", better="lower"),
        Figure("raw OTLP protobuf decode of the same payload", decode, "spans/s", note="upb, this process"),
        Figure("collector RSS idle", rss_idle[0] / mb, "MB", target=80, better="lower"),
        Figure("collector RSS after warm-up", rss_warm[0] / mb, "MB", better="lower"),
        Figure(f"collector RSS after {load.sent * SPANS:,} spans", rss_end[0] / mb, "MB", better="lower"),
        Figure(
            "collector RSS growth after warm-up",
            (rss_end[0] - rss_warm[0]) / mb,
            "MB",
            better="lower",
            note="includes the SQLite writer page cache (64 MB max) and mmap-read ledger pages",
        ),
        Figure(
            "collector anonymous RSS growth after warm-up",
            (rss_end[1] - rss_warm[1]) / mb,
            "MB",
            target=16,
            better="lower",
            note="RSS less file-backed pages; --quick warms up too briefly to fill SQLite's 64 MB page cache",
        ),
        *_postgres_figures(body, quick),
    ]


def _postgres_figures(body: bytes, quick: bool) -> list[Figure]:
    """The same ingest with the PostgreSQL ledger: the database does its work on the other core."""
    url = _postgres_url()
    if url is None:
        return [
            Figure("GenAI spans/s end to end, PostgreSQL ledger", 0, "spans/s", note="PostgreSQL unreachable")
        ]
    try:
        result = _measure(url, body, quick)
    finally:
        _drop_schema(url)
    measured = result["exports"] * SPANS
    return [
        Figure(
            "GenAI spans/s end to end, PostgreSQL ledger (collector on 1 core, PostgreSQL on the other)",
            measured / result["elapsed"],
            "spans/s",
            target=20_000,
            note=f"{result['load'].refused} exports refused as busy and re-sent",
        ),
        Figure(
            "collector CPU per span, PostgreSQL ledger",
            result["cpu"] / measured * 1e6,
            "us/span",
            better="lower",
        ),
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(f"{figure.name}: {figure.value:,.1f} {figure.unit} (target {figure.target}) {figure.note}")
