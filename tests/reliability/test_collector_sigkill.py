"""SIGKILL the collector while a real OTLP exporter is sending: every export it acknowledged is
in the ledger exactly once after a restart on the same port and ledger, and the exporter's own
retries carry the rest across the outage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_llmcost.ledger import Filters, open_ledger
from tests.reliability.support import CollectorProcess, run_worker

SPANS = 6_000
RATE = 1_500.0  # spans per second: the run spans both kills
KILLS = (1_000, 3_000)  # acknowledged spans at which the collector is killed


def read_acked(path: Path) -> set[tuple[str, ...]]:
    """The acknowledged spans so far (a line still being written is not counted yet)."""
    text = path.read_text() if path.exists() else ""
    return {tuple(line.split()) for line in text[: text.rfind("\n") + 1].splitlines()}


def ledger_keys(url: str) -> set[tuple[str, ...]]:
    with open_ledger(url) as ledger:
        return {(r.trace_id, r.span_id) for r in ledger.records(Filters())}


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sigkill_mid_ingest_loses_nothing_acknowledged(tmp_path: Path, protocol: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    collector = CollectorProcess(url, cwd=tmp_path).start()
    endpoint = str(collector.grpc) if protocol == "grpc" else f"http://{collector.http}/v1/traces"
    acked_file = tmp_path / "acked.txt"
    worker = run_worker("exporter_worker", protocol, endpoint, str(SPANS), str(RATE), str(acked_file))
    assert worker.stdout is not None
    pending_kills = list(KILLS)
    durable_at_kill: list[int] = []
    summary: dict[str, int] = {}
    try:
        for line in worker.stdout:
            event = json.loads(line)
            if pending_kills and event.get("acked", 0) >= pending_kills[0]:
                pending_kills.pop(0)
                collector.kill()  # mid-ingest: the next batch is already queued or in flight
                # Acknowledged means durable: all of it is there before any restart recovers it.
                acked_so_far = read_acked(acked_file)
                assert acked_so_far <= ledger_keys(url), "an acknowledged export was lost by SIGKILL"
                durable_at_kill.append(len(acked_so_far))
                collector.start()  # same ledger, same ports (the exporter keeps its endpoint)
            if event.get("done"):
                summary = event
        assert worker.wait(60) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        if worker.poll() is None:
            worker.kill()
        assert collector.stop() == 0
    assert not pending_kills, f"the exporter finished before every kill: {summary}"
    acked = [tuple(line.split()) for line in acked_file.read_text().splitlines()]
    with open_ledger(url) as ledger:
        keys = [(r.trace_id, r.span_id) for r in ledger.records(Filters())]
        response_ids = [r.response_id for r in ledger.records(Filters())]
    print(f"{protocol}: {summary} acked at each kill={durable_at_kill} ledgered={len(keys)}")
    assert len(set(acked)) == len(acked) == summary["acked"]
    assert len(keys) == len(set(keys)) == len(set(response_ids))  # exactly once
    assert set(acked) <= set(keys)  # nothing acknowledged is lost
    # The exporter's retries (``summary["retries"]``; gRPC sometimes reconnects transparently
    # instead) carried every span across both outages.
    assert (summary["acked"], summary["failed"], len(keys)) == (SPANS, 0, SPANS)
