"""The ``otel-llmcost collector`` command as a real process: real exports in, SIGTERM out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llmcost.collector._config_values import Address
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.collector.conftest import genai_request, grpc_export, http_get

CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]


class CliCollector:
    def __init__(self, process: subprocess.Popen[str], line: str) -> None:
        self.process = process
        self.line = line
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        self.grpc = Address.parse(fields["otlp_grpc"])
        self.http = Address.parse(fields["otlp_http"])
        self.listen = Address.parse(fields["listen"])

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@pytest.fixture
def cli_collector(tmp_path: Path) -> Iterator[CliCollector]:
    command = [
        *CLI,
        "collector",
        "--otlp-grpc",
        "127.0.0.1:0",
        "--otlp-http",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
    ]
    command += ["--ledger", f"sqlite:///{tmp_path / 'cli.db'}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLMCOST_")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the ready line: every port is bound
    if not line.startswith("otel-llmcost collector ready "):
        process.kill()
        pytest.fail(f"no ready line: {line!r} {process.communicate()[1]}")
    running = CliCollector(process, line)
    yield running
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_ready_line_names_every_bound_address(cli_collector: CliCollector, tmp_path: Path) -> None:
    assert all(a.port > 0 for a in (cli_collector.grpc, cli_collector.http, cli_collector.listen))
    assert f"ledger=sqlite:///{tmp_path / 'cli.db'}" in cli_collector.line
    assert http_get(cli_collector.listen, "/readyz").status == 200


def test_the_cli_prices_a_real_sdk_call_and_exits_0_on_sigterm(
    cli_collector: CliCollector, tmp_path: Path
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://{cli_collector.http}/v1/traces"))
    )
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=provider, pricer=Pricer(), guard=None)
    try:
        with (
            Simulator() as sim,
            openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0) as client,
        ):
            sim.set_rule(
                "gpt-4o-mini*", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50)
            )
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    report = json.loads(http_get(cli_collector.listen, "/v1/report?group_by=model").body)
    assert report["total_usd"] == "0.0001332"
    assert report["groups"] == [
        {
            "key": {"model": "gpt-4o-mini"}, "total_usd": "0.0001332", "requests": 1, "errors": 0, "unpriced": 0,
            "input_tokens": 1200, "output_tokens": 50, "cache_read_tokens": 1024, "cache_write_tokens": 0,
            "reasoning_tokens": 0,
        }
    ]  # fmt: skip
    assert cli_collector.terminate() == 0
    with open_ledger(f"sqlite:///{tmp_path / 'cli.db'}") as ledger:
        assert ledger.totals().cost_nanos == 133_200


def test_sigterm_with_exports_in_flight_loses_nothing_acknowledged(
    cli_collector: CliCollector, tmp_path: Path
) -> None:
    acknowledged: list[int] = []  # first span index of each acknowledged export
    lock = threading.Lock()
    enough = threading.Event()
    per_export = 200

    errors: list[BaseException] = []
    refused = threading.Event()

    def sender(worker: int) -> None:
        try:
            send(worker)
        except BaseException as err:
            errors.append(err)

    def send(worker: int) -> None:
        for n in range(1000):
            first = (worker * 1000 + n) * per_export
            answer = grpc_export(
                cli_collector.grpc, genai_request(per_export, first).SerializeToString(), timeout=10
            )
            if answer.code != grpc.StatusCode.OK:
                # UNAVAILABLE; CANCELLED for an RPC racing the server's last moment. Both are retried.
                assert answer.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), answer
                refused.set()
                return  # the collector is stopping: an exporter would retry elsewhere or later
            with lock:
                acknowledged.append(first)
                if len(acknowledged) >= 12:
                    enough.set()

    senders = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for thread in senders:
        thread.start()
    assert enough.wait(60), "no exports were acknowledged"
    code = cli_collector.terminate()
    for thread in senders:
        thread.join(30)
    assert code == 0
    assert not errors
    assert refused.is_set()  # exports were still coming when it stopped
    with open_ledger(f"sqlite:///{tmp_path / 'cli.db'}") as ledger:
        stored = {record.span_id for record in ledger.records()}
    expected = {f"{0xDEF000 + first + i:016x}" for first in acknowledged for i in range(per_export)}
    assert len(expected) == len(acknowledged) * per_export
    assert expected <= stored


def test_sigint_stops_it_too(cli_collector: CliCollector) -> None:
    cli_collector.process.send_signal(signal.SIGINT)
    assert cli_collector.process.wait(30) == 0


def test_a_port_in_use_is_one_line_naming_the_server_and_address(
    cli_collector: CliCollector, tmp_path: Path
) -> None:
    taken = cli_collector.grpc  # e.g. another OpenTelemetry Collector already on 4317
    command = [*CLI, "collector", "--otlp-grpc", str(taken), "--otlp-http", "127.0.0.1:0"]
    command += ["--listen", "127.0.0.1:0", "--ledger", f"sqlite:///{tmp_path / 'second.db'}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLMCOST_")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: cannot start the collector: the OTLP/gRPC receiver cannot listen on {taken}: "
        "address already in use\n"
    )


def test_an_unreachable_ledger_is_a_runtime_failure_not_a_bad_config(tmp_path: Path) -> None:
    command = [*CLI, "collector", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"]
    command += ["--listen", "127.0.0.1:0", "--ledger", "postgresql://llmcost:secret@127.0.0.1:1/x"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLMCOST_")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "Error: cannot start the collector: cannot open PostgreSQL ledger "
        "postgresql://llmcost:***@127.0.0.1:1/x: connection failed: "
    )
    assert done.stderr.endswith("Connection refused\n") and done.stderr.count("\n") == 1
    assert "secret" not in done.stderr
