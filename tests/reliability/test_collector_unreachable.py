"""The collector is unreachable — its port closed, or a blackhole that accepts connections and
never answers: an instrumented app's SDK calls still return promptly (export runs in the
BatchSpanProcessor's thread), and the app exits cleanly within the exporter's timeout."""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Iterator

import pytest

from tests.reliability.support import run_worker

CALLS = 300
EXPORT_TIMEOUT_S = 2.0


def percentile(values: list[float], fraction: float) -> float:
    return sorted(values)[int(len(values) * fraction)]


def run_app(protocol: str, endpoint: str) -> tuple[list[float], float]:
    """(latency of each call, seconds from the last call to the process's exit)."""
    worker = run_worker("app_worker", protocol, endpoint, str(CALLS), str(EXPORT_TIMEOUT_S))
    assert worker.stdout is not None and worker.stderr is not None
    line = worker.stdout.readline()
    done = time.monotonic()
    code = worker.wait(60)
    exit_s = time.monotonic() - done
    assert code == 0 and line, worker.stderr.read()[-2000:]
    return json.loads(line)["latencies"], exit_s


@pytest.fixture(scope="module")
def baseline() -> list[float]:
    """The same calls with no exporter at all."""
    return run_app("none", "-")[0]


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that completes TCP handshakes (the kernel's backlog) and never says a word."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(128)
        yield hole.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket is closed


@pytest.mark.parametrize("target", ["closed", "blackhole"])
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_calls_stay_fast_and_the_app_exits_in_time(
    request: pytest.FixtureRequest, baseline: list[float], protocol: str, target: str
) -> None:
    port = request.getfixturevalue("closed_port" if target == "closed" else "blackhole")
    endpoint = f"127.0.0.1:{port}" if protocol == "grpc" else f"http://127.0.0.1:{port}/v1/traces"
    latencies, exit_s = run_app(protocol, endpoint)
    added_median = statistics.median(latencies) - statistics.median(baseline)
    added_p95 = percentile(latencies, 0.95) - percentile(baseline, 0.95)
    print(
        f"{protocol}/{target}: median {statistics.median(latencies) * 1e3:.2f} ms"
        f" (+{added_median * 1e3:.2f}), p95 +{added_p95 * 1e3:.2f} ms, max {max(latencies) * 1e3:.1f} ms,"
        f" exit {exit_s:.2f} s"
    )
    # Generous bounds (two CPUs shared with other tests); what they rule out is export on the
    # caller's thread, which would add the export timeout (blackhole) or a retry backoff of at
    # least 0.8 s (closed port) to a call.
    assert added_median < 0.005
    assert added_p95 < 0.100
    assert max(latencies) < EXPORT_TIMEOUT_S / 4
    # The exit hook flushes through the exporter: bounded by its timeout, plus interpreter exit.
    assert exit_s < EXPORT_TIMEOUT_S + 1.5
