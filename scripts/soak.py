#!/usr/bin/env python3
"""Soak the collector: a fixed span rate for N minutes, watching its memory and error counters.

    python scripts/soak.py --minutes 10 --rate 2000        # what `make soak` runs
    python scripts/soak.py --minutes 2.5 --ledger postgresql://…/db?schema=soak

Starts ``otel-llmcost collector`` (SQLite ledger in a temporary directory unless ``--ledger``),
sends OTLP/gRPC exports of priced GenAI spans at ``--rate`` spans per second from a few sender
threads, and every ``--sample-seconds`` records the collector's memory (psutil) and its
``/metrics`` error counters. Passes — exit 0 — when, after the warm-up, resident memory grew less
than ``--max-growth`` (10%), no error counter grew during the whole run, every export was
acknowledged, the rate was sustained, and the ledger holds exactly the spans sent. Prints a table
of the samples and a summary; exit 1 on any failure.

Memory is the collector's anonymous resident memory (RSS minus file-backed pages): a SQLite
ledger is memory-mapped (``mmap_size`` 1 GiB), so the file pages it touches count in RSS and grow
with the ledger file — reclaimable page cache, not a leak. Both figures are printed. The warm-up
(default: a fifth of the run, at least 90 s) covers the fills that are bounded by design: the
SQLite writer's 64 MiB page cache (full after about 110,000 spans) and the label and price caches.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from prometheus_client.parser import text_string_to_metric_families

from otel_llmcost.collector._otlp import set_any_value
from otel_llmcost.collector._senders import EXPORT_METHOD
from otel_llmcost.ledger import open_ledger

CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]
SENDERS = 4
# Counters that must not move in a healthy run (summed over their labels).
ERROR_COUNTERS = (
    "llmcost_collector_spans_rejected_total",
    "llmcost_collector_ledger_write_errors_total",
    "llmcost_collector_forward_dropped_total",
)
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"),
          ("gcp.gemini", "gemini-2.5-flash")]  # fmt: skip


@dataclass
class Sample:
    at: float
    sent_spans: int
    rss: int
    anon: int
    counters: dict[str, float]


@dataclass
class Load:
    """What the senders did: acknowledged spans, failed exports, how far behind schedule."""

    acked_spans: int = 0
    failed_exports: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def template(batch: int) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (("service.name", "soak"), ("deployment.environment.name", "soak")):
        kv = resource_spans.resource.attributes.add()
        kv.key = key
        set_any_value(kv.value, value)
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "otel_llmcost.instrumentation"
    for i in range(batch):
        provider, model = MODELS[i % len(MODELS)]
        span = scope.spans.add(name=f"chat {model}", kind=Span.SPAN_KIND_CLIENT)
        attrs = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 1000 + i, "gen_ai.usage.output_tokens": 100 + i % 50,
            "llmcost.team": f"team-{i % 7}", "llmcost.user": "", "gen_ai.response.id": "",
        }  # fmt: skip
        for key, value in attrs.items():
            kv = span.attributes.add()
            kv.key = key
            set_any_value(kv.value, value)
    return request


def stamp(request: ExportTraceServiceRequest, serial: int) -> bytes:
    """Fresh ids, times, users and response ids on the template: every span a new call."""
    now = time.time_ns()
    for i, span in enumerate(request.resource_spans[0].scope_spans[0].spans):
        span.trace_id = os.urandom(16)
        span.span_id = os.urandom(8)
        span.start_time_unix_nano = now - 2_000_000_000
        span.end_time_unix_nano = now
        span.attributes[-2].value.string_value = f"user-{(serial * 31 + i) % 5000}"
        span.attributes[-1].value.string_value = f"soak-{serial}-{i}"
    return bytes(request.SerializeToString())


def send(target: str, load: Load, batch: int, rate: float, stop: threading.Event, lane: int) -> None:
    """One sender: exports lane, lane + SENDERS, … each at its scheduled time."""
    request = template(batch)
    per_export = batch / rate  # seconds between two exports of all senders together
    started = time.monotonic()
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(EXPORT_METHOD)
        serial = lane
        while not stop.is_set():
            due = started + serial * per_export
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                export(stamp(request, serial), timeout=30)
            except grpc.RpcError as err:
                code = err.code().name  # type: ignore[attr-defined]
                with load.lock:
                    load.failed_exports += 1
                    load.failures[code] = load.failures.get(code, 0) + 1
            else:
                with load.lock:
                    load.acked_spans += batch
            serial += SENDERS


def scrape(listen: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{listen}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name == "llmcost_collector_exports_total" and sample.labels.get("outcome") != "ok":
                name = "llmcost_collector_exports_total{outcome!=ok}"
            totals[name] = totals.get(name, 0.0) + sample.value
    return totals


def start_collector(ledger: str, cwd: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [*CLI, "collector", "--ledger", ledger, "--otlp-grpc", "127.0.0.1:0", "--otlp-http",
               "127.0.0.1:0", "--listen", "127.0.0.1:0"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=cwd)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("otel-llmcost collector ready"):
        process.kill()
        sys.exit(f"soak: the collector did not start: {line!r}")
    return process, dict(part.split("=", 1) for part in line.split() if "=" in part)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="spans per second")
    parser.add_argument("--batch", type=int, default=100, help="spans per export")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--warmup-minutes", type=float, help="default: a fifth of the run, at least 1.5")
    parser.add_argument("--max-growth", type=float, default=0.10, help="resident memory, after the warm-up")
    parser.add_argument("--ledger", help="ledger URL (default: SQLite in a temporary directory)")
    args = parser.parse_args(argv)
    duration = args.minutes * 60
    warmup = 60 * (args.warmup_minutes if args.warmup_minutes is not None else max(1.5, args.minutes / 5))
    if warmup >= duration:
        parser.error("the warm-up must be shorter than the run")
    workdir = tempfile.mkdtemp(prefix="llmcost-soak-")
    ledger = args.ledger or f"sqlite:///{Path(workdir) / 'ledger.db'}"
    process, addresses = start_collector(ledger, workdir)
    collector = psutil.Process(process.pid)
    load, stop = Load(), threading.Event()
    senders = [
        threading.Thread(target=send, args=(addresses["otlp_grpc"], load, args.batch, args.rate, stop, lane))
        for lane in range(SENDERS)
    ]
    started = time.monotonic()
    for thread in senders:
        thread.start()
    samples: list[Sample] = []
    print(
        f"soak: {args.rate:.0f} spans/s for {args.minutes:g} min (warm-up {warmup / 60:g} min), ledger {ledger}"
    )
    print(f"{'t (s)':>7} {'spans/s':>8} {'rss MiB':>8} {'anon MiB':>9} {'queue':>6} {'errors':>7}")
    try:
        while True:
            elapsed = time.monotonic() - started
            memory = collector.memory_info()
            counters = scrape(addresses["listen"])
            samples.append(
                Sample(elapsed, load.acked_spans, memory.rss, memory.rss - memory.shared, counters)
            )
            rate = (
                (samples[-1].sent_spans - samples[-2].sent_spans) / (elapsed - samples[-2].at)
                if len(samples) > 1
                else 0
            )
            errors = sum(counters.get(name, 0) for name in ERROR_COUNTERS) + load.failed_exports
            print(f"{elapsed:7.0f} {rate:8.0f} {memory.rss / 2**20:8.1f} {(memory.rss - memory.shared) / 2**20:9.1f}"
                  f" {counters.get('llmcost_collector_queue_depth', 0):6.0f} {errors:7.0f}", flush=True)  # fmt: skip
            if elapsed >= duration:
                break
            time.sleep(min(args.sample_seconds, duration - elapsed))  # the sampling period itself
    finally:
        stop.set()
        for thread in senders:
            thread.join(60)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    return verdict(args, samples, load, warmup, exit_code, ledger)


def verdict(
    args: argparse.Namespace, samples: list[Sample], load: Load, warmup: float, exit_code: int, ledger: str
) -> int:
    after = [s for s in samples if s.at >= warmup]
    base, peak = after[0], max(after, key=lambda s: s.anon)
    growth = (peak.anon - base.anon) / base.anon
    rss_growth = (max(s.rss for s in after) - base.rss) / base.rss
    first, last = samples[0].counters, samples[-1].counters
    grown = {
        name: last.get(name, 0) - first.get(name, 0)
        for name in (*ERROR_COUNTERS, "llmcost_collector_exports_total{outcome!=ok}")
        if last.get(name, 0) != first.get(name, 0)
    }
    achieved = load.acked_spans / samples[-1].at
    with open_ledger(ledger) as opened:
        stored = opened.count()
    checks = {
        f"memory growth after warm-up {growth:+.1%} < {args.max_growth:.0%} (anonymous RSS"
        f" {base.anon / 2**20:.1f} -> max {peak.anon / 2**20:.1f} MiB; total RSS {rss_growth:+.1%},"
        f" {base.rss / 2**20:.1f} -> {samples[-1].rss / 2**20:.1f} MiB)": growth < args.max_growth,
        f"no error counter grew {grown or ''}": not grown,
        f"every export acknowledged (failed: {load.failed_exports} {load.failures or ''})": load.failed_exports
        == 0,
        f"rate sustained: {achieved:.0f} spans/s of {args.rate:.0f}": achieved >= 0.95 * args.rate,
        f"ledger holds every span sent: {stored} of {load.acked_spans}": stored == load.acked_spans,
        f"clean shutdown (exit {exit_code})": exit_code == 0,
    }
    print("\nsummary")
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
