"""With a bearer token configured, nothing reaches the pipeline or the /v1 API without it:
both receivers and every /v1/* route (including ones added later) answer 401/UNAUTHENTICATED;
/metrics and the probes stay open for Prometheus and the kubelet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from otel_llmcost.collector import Collector
from tests.collector.conftest import genai_request, grpc_export, http_get, http_post, metric_sum

TOKEN = "tok-4f9a1c0e7d2b"
WRONG = ["", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN,
         f"Bearer  {TOKEN} extra", "Bearer " + TOKEN.upper()]  # fmt: skip
_first = iter(range(0, 10_000, 10))


@pytest.fixture
def guarded(start_collector: Callable[..., Collector], tmp_path: Path) -> Collector:
    policy = tmp_path / "budgets.yaml"
    policy.write_text("budgets:\n  - {name: monthly, window: monthly, limit_usd: 10}\n")
    return start_collector(bearer_token=TOKEN, budgets=str(policy))


def export() -> bytes:
    return genai_request(2, next(_first)).SerializeToString()


def test_the_grpc_receiver_refuses_every_wrong_token(guarded: Collector) -> None:
    address = guarded.addresses["otlp_grpc"]
    assert grpc_export(address, export()).code == grpc.StatusCode.UNAUTHENTICATED  # no metadata
    for header in WRONG:
        answer = grpc_export(address, export(), metadata=[("authorization", header)])
        assert answer.code == grpc.StatusCode.UNAUTHENTICATED, header
    assert (
        grpc_export(address, export(), metadata=[("authorization", f"Bearer {TOKEN}")]).code
        == grpc.StatusCode.OK
    )
    assert guarded.ledger.count() == 2  # only the authorized export reached the ledger
    assert metric_sum(guarded, "llmcost_collector_spans_received_total") == 2


def test_the_http_receiver_refuses_every_wrong_token(guarded: Collector) -> None:
    address = guarded.addresses["otlp_http"]
    for content_type in ("application/x-protobuf", "application/json"):
        assert http_post(address, export(), content_type=content_type).status == 401
        for header in WRONG:
            answer = http_post(
                address, export(), content_type=content_type, headers={"Authorization": header}
            )
            assert answer.status == 401, header
            assert answer.headers["www-authenticate"] == 'Bearer realm="otel-llmcost"'
    assert http_post(address, export(), headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
    assert guarded.ledger.count() == 2


def test_every_v1_route_needs_the_token(guarded: Collector) -> None:
    address = guarded.addresses["listen"]
    protected = sorted(path for path in guarded.api.routes if path.startswith("/v1/"))
    assert {"/v1/report", "/v1/budgets"} <= set(protected)
    for path in protected:
        assert http_get(address, path).status == 401, path
        for header in WRONG:
            assert http_get(address, path, headers={"Authorization": header}).status == 401, (path, header)
        authorized = http_get(address, path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert authorized.status != 401, path
    # The token is a header, never a query parameter (those end up in access logs).
    assert http_get(address, f"/v1/report?access_token={TOKEN}").status == 401
    assert http_get(address, f"/v1/report?token={TOKEN}").status == 401


def test_metrics_and_probes_stay_open(guarded: Collector) -> None:
    address = guarded.addresses["listen"]
    for path in ("/metrics", "/healthz", "/readyz"):
        assert http_get(address, path).status == 200, path
    # Paths that are not routes are 404 whatever their spelling, never a way around the check.
    for path in ("/v1/report/", "//v1/report", "/V1/report", "/v1/../v1/report"):
        answer = http_get(address, path)
        assert answer.status in (401, 404) and TOKEN.encode() not in answer.body, path


def test_a_404_lists_the_routes_only_to_a_token_holder(guarded: Collector) -> None:
    address = guarded.addresses["listen"]
    stranger = http_get(address, "/nowhere")
    assert stranger.status == 404
    assert json.loads(stranger.body) == {"error": "no such path: /nowhere"}
    holder = http_get(address, "/nowhere", headers={"Authorization": f"Bearer {TOKEN}"})
    assert holder.status == 404
    assert json.loads(holder.body)["paths"] == sorted(guarded.api.routes)
