"""Planted canaries — a unique string in every prompt, unique API keys as the SDKs' api_key and
as an Authorization header — are searched for everywhere the data goes: the app's spans, what
the collector forwards downstream, the ledger and ``otel-llmcost export`` (JSONL and CSV),
``/metrics``, and every log record at DEBUG.

With content capture off no prompt or completion text is recorded anywhere; API keys never are,
capture on or off. The capture-on run is the control that proves the search would see them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from click.testing import CliRunner
from google import genai
from google.genai import types
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llmcost import environment_variables as ev
from otel_llmcost.cli._app import cli
from otel_llmcost.collector import Collector
from otel_llmcost.collector._config_values import ForwardEndpoint
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.ledger import Filters
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.collector.conftest import http_get
from tests.otlp_receiver import otlp_http_receiver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CANARY = f"canary-prompt-{uuid.uuid4().hex}"
SDK_KEY = f"sk-canary-{uuid.uuid4().hex}"
HEADER_KEY = f"hdr-canary-{uuid.uuid4().hex}"
CALLS = 8  # GenAI spans the calls below make


@dataclasses.dataclass
class Run:
    spans: list[ReadableSpan]
    forwarded: list[dict[str, Any]]
    ledger: list[Any]
    exported: list[str]  # `otel-llmcost export` output, JSONL and CSV
    metrics: str
    logs: list[logging.LogRecord]
    completions: list[str]


def make_calls(sim: Simulator) -> list[str]:
    """One call per instrumented API, the canary in every prompt; the completion texts."""
    texts = []
    messages: Any = [{"role": "system", "content": f"system {CANARY}"}, {"role": "user", "content": CANARY}]
    with openai.OpenAI(base_url=sim.openai_base_url, api_key=SDK_KEY, max_retries=0) as oai:
        texts.append(
            oai.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content
        )
        stream = oai.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        texts.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
        texts.append(oai.responses.create(model="gpt-4o-mini", input=CANARY, instructions=CANARY).output_text)
        oai.embeddings.create(model="text-embedding-3-small", input=[CANARY])
    with anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key=SDK_KEY, max_retries=0) as claude:
        reply = claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            system=CANARY,
            messages=[{"role": "user", "content": CANARY}],
        )
        texts.append(reply.content[0].text)  # type: ignore[union-attr]
    gem = genai.Client(api_key=SDK_KEY, http_options=types.HttpOptions(base_url=sim.url))
    texts.append(gem.models.generate_content(model="gemini-2.5-flash", contents=CANARY).text or "")
    with httpx2.Client() as raw:  # a raw REST call, the key in its Authorization header
        answer = raw.post(
            f"{sim.openai_base_url}/chat/completions", headers={"Authorization": f"Bearer {HEADER_KEY}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": CANARY}]},
        )  # fmt: skip
        texts.append(answer.json()["choices"][0]["message"]["content"])
    with openai.OpenAI(
        base_url=sim.openai_base_url, api_key=SDK_KEY, max_retries=0,
        default_headers={"Authorization": f"Bearer {HEADER_KEY}"},
    ) as oai:  # fmt: skip
        texts.append(
            oai.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
        )
    return [t for t in texts if t]


@pytest.fixture
def run(
    start_collector: Callable[..., Collector], shared_pricer: Pricer, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[bool], Run]]:  # fmt: skip
    monkeypatch.delenv(ev.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raising=False)
    with otlp_http_receiver() as (downstream, received), Simulator() as sim:
        forward = ForwardEndpoint(url=f"{downstream}/v1/traces", name="downstream", compression="none")
        collector = start_collector(forward=(forward,))

        def go(capture: bool) -> Run:
            memory = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(memory))
            exporter = OTLPSpanExporter(endpoint=f"http://{collector.addresses['otlp_http']}/v1/traces")
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            instrumentor = LLMCostInstrumentor()
            caplog.set_level(logging.DEBUG)  # every logger, the SDKs' and the exporters' included
            instrumentor.instrument(
                tracer_provider=provider, pricer=shared_pricer, guard=None,
                capture_content=True if capture else None,  # None: the environment, i.e. off
                provider_map={f"127.0.0.1:{sim.port}": "openai"},
            )  # fmt: skip
            try:
                completions = make_calls(sim)
            finally:
                instrumentor.uninstrument()
                provider.shutdown()
            spans = [
                s for s in memory.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})
            ]
            assert len(spans) == CALLS
            forwarded = received.wait_for(CALLS)
            assert len(forwarded) >= CALLS
            metrics = http_get(collector.addresses["listen"], "/metrics").body.decode()
            ledger = list(collector.ledger.records(Filters()))
            assert len(ledger) == CALLS
            exported = [export_command(collector.ledger.url, fmt) for fmt in ("jsonl", "csv")]
            return Run(spans, forwarded, ledger, exported, metrics, list(caplog.records), completions)

        yield go


def export_command(ledger_url: str, fmt: str) -> str:
    answer = CliRunner().invoke(cli, ["export", "--ledger", ledger_url, "--format", fmt])
    assert answer.exit_code == 0, answer.output
    assert answer.stdout.count("\n") >= CALLS  # one line per row (CSV: plus its header)
    return answer.stdout


def span_text(span: ReadableSpan) -> str:
    parts: list[Any] = [
        span.name,
        span.status.description,
        dict(span.attributes or {}),
        dict(span.resource.attributes),
    ]
    parts += [(event.name, dict(event.attributes or {})) for event in span.events]
    parts += [dict(link.attributes or {}) for link in span.links]
    return repr(parts)


def everywhere(result: Run) -> dict[str, str]:
    """Each place the data goes, as text to search."""
    return {
        "spans": "\n".join(span_text(span) for span in result.spans),
        "forwarded": json.dumps(result.forwarded, default=repr),
        "ledger": "\n".join(repr(dataclasses.astuple(record)) for record in result.ledger),
        "export": "\n".join(result.exported),
        "metrics": result.metrics,
    }


def log_text(records: list[logging.LogRecord], ours_only: bool = False) -> str:
    chosen = [r for r in records if not ours_only or r.name.startswith("otel_llmcost")]
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in chosen)


def test_with_capture_off_no_prompt_completion_or_key_is_recorded(run: Callable[[bool], Run]) -> None:
    result = run(False)
    completions = [text for text in result.completions if len(text) >= 12]  # long enough to be unique
    assert len(completions) >= 6
    for place, text in everywhere(result).items():
        assert CANARY not in text, place
        for completion in completions:
            assert completion not in text, (place, completion)
        assert SDK_KEY not in text and HEADER_KEY not in text, place
    assert CANARY not in log_text(result.logs, ours_only=True)  # our own logs never echo content
    every_log = log_text(result.logs)
    assert SDK_KEY not in every_log and HEADER_KEY not in every_log  # nobody's logs carry keys


def test_with_capture_on_content_is_recorded_but_keys_never(run: Callable[[bool], Run]) -> None:
    """The control: the same search finds the canary once the user opts in."""
    result = run(True)
    places = everywhere(result)
    assert CANARY in places["spans"] and CANARY in places["forwarded"]
    for place in ("ledger", "export", "metrics"):  # never stored, opt-in or not
        assert CANARY not in places[place], place
    for text in [*places.values(), log_text(result.logs)]:
        assert SDK_KEY not in text and HEADER_KEY not in text
