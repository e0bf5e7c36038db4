"""Spans from other instrumentations, for real: the official openai-v2 instrumentation and
OpenLLMetry's, each in its own virtualenv (their pins conflict with ours), call the simulator and
export OTLP to our collector, which prices them.

The virtualenvs are the benchmark's (``benchmarks/instr/build_venvs.py``), built once and reused;
a file lock keeps parallel test workers from building the same one twice.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otel_llmcost.collector import Collector
from otel_llmcost.ledger import Filters, open_ledger
from otel_llmcost.simulator import Simulator, UsageRule

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "instr"))
import build_venvs  # noqa: E402

APP = textwrap.dedent(
    """
    import sys
    import openai
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    impl, sim_url, otlp = sys.argv[1:4]
    provider = TracerProvider(resource=Resource.create({"service.name": "peer-" + impl}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp + "/v1/traces")))
    trace.set_tracer_provider(provider)
    if impl == "openai_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    OpenAIInstrumentor().instrument()
    client = openai.OpenAI(base_url=sim_url + "/v1", api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    provider.shutdown()  # flushes the export before exiting
    """
)


def peer_python(name: str) -> Path:
    lock_path = build_venvs.VENVS / f".{name}.build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = build_venvs.build(name)
    assert built.python is not None, f"cannot build the {name} virtualenv: {built.status}"
    return built.python


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_rule(
            "gpt-4o-mini", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50)
        )
        yield simulator


# What each emitter writes for the same call (1200 prompt incl. 1024 cached, 50 completion), and
# so what the collector must bill: OpenLLMetry records the cached tokens; openai-v2 2.4b0 does not
# (its span says 1200 input tokens, nothing about the cache), so the call prices as uncached.
EXPECTED = {
    # 176 × 0.15 + 1024 × 0.075 + 50 × 0.60 per 1M
    "openllmetry": {
        "input_tokens": 176,
        "cache_read_tokens": 1024,
        "output_tokens": 50,
        "cost_nanos": 133_200,
    },
    # 1200 × 0.15 + 50 × 0.60 per 1M
    "openai_v2": {"input_tokens": 1200, "cache_read_tokens": 0, "output_tokens": 50, "cost_nanos": 210_000},
}


@pytest.mark.slow
@pytest.mark.parametrize("impl", sorted(EXPECTED))
def test_peer_spans_are_priced(
    impl: str, sim: Simulator, start_collector: Callable[..., Collector], sqlite_url: str, tmp_path: Path
) -> None:
    python = peer_python(impl)
    collector = start_collector()
    app = tmp_path / "app.py"
    app.write_text(APP)
    otlp = f"http://{collector.addresses['otlp_http']}"
    done = subprocess.run(
        [str(python), str(app), impl, sim.url, otlp], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    collector.stop(timeout=10)  # every acknowledged export is committed
    with open_ledger(sqlite_url) as ledger:
        (row,) = list(ledger.records(Filters()))
    assert (row.provider, row.request_model, row.service) == ("openai", "gpt-4o-mini", f"peer-{impl}")
    assert row.pricing_model is not None and row.priced
    got = {key: getattr(row, key) for key in EXPECTED[impl]}
    assert got == EXPECTED[impl]
