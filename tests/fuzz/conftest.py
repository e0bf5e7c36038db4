"""One collector per module for the fuzz tests: hypothesis runs hundreds of examples against it,
and what matters is that it survives all of them (a fresh collector per example would hide a
leak, a poisoned writer or a wedged receiver)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from otel_llmcost.collector import Collector
from otel_llmcost.collector._senders import EXPORT_METHOD
from otel_llmcost.ledger import Filters
from otel_llmcost.ledger._model import COST_FIELDS
from tests.collector.conftest import BASE_CONFIG, ENGINES, genai_request, http_get, http_post, metric_sum
from tests.ledger.support import check_pg, pg_admin, pg_url

#: Shared by every fuzz test: 100 examples each (the whole suite runs in about 12 s), no example
#: database (CI starts clean anyway), no per-example deadline (a ledger commit is an fsync), and
#: fixtures that outlive the examples on purpose.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class GrpcClient:
    """One channel for all examples (a channel per call would spend the budget on handshakes)."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
        self.export = self.channel.unary_unary(EXPORT_METHOD)

    def call(self, body: bytes) -> tuple[grpc.StatusCode, bytes]:
        try:
            return grpc.StatusCode.OK, self.export(body, timeout=30)
        except grpc.RpcError as err:
            return err.code(), b""  # type: ignore[attr-defined]


class Fuzzed:
    """The collector under fuzz, its clients, and the checks every test ends with."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.http = collector.addresses["otlp_http"]
        self.grpc = GrpcClient(str(collector.addresses["otlp_grpc"]))
        self._good = iter(range(5_000_000, 6_000_000, 10))

    def metric(self, name: str, **labels: str) -> float:
        return metric_sum(self.collector, name, **labels)

    def check_healthy(self) -> None:
        """After a test: good exports through each receiver land, the probes say ready, no write
        ever failed, and whatever the fuzzing stored is sane — in the ledger and in /metrics."""
        before = self.collector.ledger.count()
        assert self.grpc.call(genai_request(2, next(self._good)).SerializeToString())[0] == grpc.StatusCode.OK
        assert http_post(self.http, genai_request(2, next(self._good)).SerializeToString()).status == 200
        assert self.collector.ledger.count() == before + 4
        assert http_get(self.collector.addresses["listen"], "/readyz").status == 200
        # A poisoned row fails the whole write transaction, and every export batched with it.
        assert self.metric("llmcost_collector_ledger_write_errors_total") == 0
        for record in self.collector.ledger.records(Filters()):
            money = [getattr(record, name) for name in COST_FIELDS]
            assert min(money) >= 0 and record.start_ns <= record.end_ns, record
            assert record.max_tokens is None or record.max_tokens > 0, record
        exposition = http_get(self.collector.addresses["listen"], "/metrics")
        assert exposition.status == 200
        for family in text_string_to_metric_families(exposition.body.decode()):
            for sample in family.samples:  # the exposition parses, with no NaN and no negative money
                assert not math.isnan(sample.value), sample
                if family.name.startswith(("llmcost_cost", "llmcost_tokens")):
                    assert sample.value >= 0, sample


@pytest.fixture(scope="module", params=ENGINES)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.db'}"
    else:
        check_pg()
        schema = f"f_{uuid.uuid4().hex[:16]}"
        url = pg_url(schema)
    config: Any = replace(BASE_CONFIG, ledger_url=url, max_request_bytes=4 << 20)
    collector = Collector(config, registry=CollectorRegistry()).start()
    fuzzed = Fuzzed(collector)
    yield fuzzed
    fuzzed.grpc.channel.close()
    collector.stop(timeout=5.0)
    if schema is not None:
        pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
