"""The downstream forward endpoint is down: forwarding drops (counted) within its bounded queue,
ingest into the ledger is untouched, and the collector's memory stays flat.

The ledger is PostgreSQL here: a SQLite ledger grows the collector's own memory by design until
its 64 MiB page cache is full (about 100,000 spans), which would hide what is measured.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from otel_llmcost.ledger import open_ledger
from tests.collector.conftest import genai_request, http_get, http_post
from tests.ledger.support import check_pg, pg_admin, pg_url
from tests.reliability.support import CollectorProcess

pytestmark = pytest.mark.services

QUEUE_BYTES = 64 * 1024
EXPORTS = 1_000
SPANS = 20  # GenAI spans per export, plus 5 plain HTTP spans (forwarded too, never ledgered)
WARM_UP = 200


def scrape(collector: CollectorProcess) -> dict[str, float]:
    answer = http_get(collector.listen, "/metrics")
    assert answer.status == 200
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


@pytest.fixture
def pg_ledger() -> Iterator[str]:
    check_pg()
    schema = f"r_{uuid.uuid4().hex[:16]}"
    yield pg_url(schema)
    pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_dead_forward_endpoint_drops_within_its_bound(tmp_path: Path, pg_ledger: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]  # closed again: connections are refused
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"forward": {
        "endpoints": [{"endpoint": f"http://127.0.0.1:{dead}/v1/traces", "name": "tempo"}],
        "queue_max_bytes": QUEUE_BYTES, "initial_backoff_seconds": 0.5, "max_backoff_seconds": 2,
        "max_elapsed_seconds": 3,
    }}))  # fmt: skip
    url = pg_ledger
    collector = CollectorProcess(url, cwd=tmp_path, args=["--config", str(config)]).start()
    process = psutil.Process(collector.pid)
    try:
        rss: list[int] = []
        for n in range(EXPORTS):
            body = genai_request(SPANS, n * SPANS, http_spans=5).SerializeToString()
            assert http_post(collector.http, body).status == 200  # ingest never waits on forwarding
            if n == WARM_UP or n == EXPORTS - 1:
                rss.append(process.memory_info().rss)
            if n % 100 == 0:
                metrics = scrape(collector)
                assert metrics["llmcost_collector_forward_queue_bytes{endpoint=tempo}"] <= QUEUE_BYTES
        metrics = scrape(collector)
    finally:
        assert collector.stop() == 0
    dropped = {k: v for k, v in metrics.items() if k.startswith("llmcost_collector_forward_dropped_total")}
    growth = (rss[1] - rss[0]) / rss[0]
    print(
        f"dropped={dropped} rss after warm-up {rss[0] >> 20} MiB, at the end {rss[1] >> 20} MiB ({growth:+.1%})"
    )
    assert metrics["llmcost_collector_forward_dropped_total{endpoint=tempo,reason=queue_full}"] > 0
    assert metrics["llmcost_collector_forward_spans_total{endpoint=tempo}"] == 0
    assert metrics["llmcost_collector_forward_queue_capacity_bytes{endpoint=tempo}"] == QUEUE_BYTES
    # Every span is either queued, given up (counted by reason) or being retried right now.
    queued = metrics["llmcost_collector_forward_queue_spans{endpoint=tempo}"]
    assert EXPORTS * (SPANS + 5) - sum(dropped.values()) - queued <= 2 * (SPANS + 5)
    with open_ledger(url) as ledger:
        assert ledger.count() == EXPORTS * SPANS  # ingest unaffected: the ledger is complete
    assert growth < 0.10
