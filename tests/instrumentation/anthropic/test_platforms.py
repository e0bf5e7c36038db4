"""AnthropicBedrock and AnthropicVertex share the Messages resources: provider from the base URL.

Their wire paths differ from the first-party API (the model moves into the URL), so a small
transport moves it back into the body and hands the request to the simulator's core.
"""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote

import anthropic
import httpx2
import pytest

from otel_llmcost.simulator import SimRequest, Simulator
from tests.instrumentation.anthropic._support import (
    CACHE_RULE,
    COST_TOTAL,
    DEPRECATED_MODEL,
    MESSAGES,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL, pytest.mark.usefixtures("instrumented")]

BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
_MODEL_IN_PATH = re.compile(r"/model/(?P<bedrock>[^/]+)/invoke|/models/(?P<vertex>[^/:]+):\w+")


def _answer(sim: Simulator, request: httpx2.Request) -> httpx2.Response:
    match = _MODEL_IN_PATH.search(request.url.path)
    assert match is not None, request.url
    body = json.loads(request.content)
    body["model"] = unquote(match["bedrock"] or match["vertex"])
    answer = sim.handle(SimRequest("POST", "/v1/messages", body=json.dumps(body).encode()))
    content = b"".join(answer.chunks) if answer.chunks is not None else answer.body
    return httpx2.Response(answer.status, headers=answer.headers, content=content)


@pytest.fixture
def platform_sim(sim: Simulator) -> Simulator:
    sim.set_rule("*claude-sonnet-4-5*", CACHE_RULE)
    return sim


def _assert_platform(otel: Otel, provider: str, host: str, model: str, pricing_model: str) -> None:
    a = only_span(otel).attributes or {}
    assert a["gen_ai.provider.name"] == provider
    assert a["server.address"] == host and a["server.port"] == 443
    assert a["gen_ai.request.model"] == model
    assert a["gen_ai.usage.input_tokens"] == 2000
    assert a["gen_ai.usage.cache_write.input_tokens"] == 800
    assert a["llmcost.pricing.model"] == pricing_model
    assert a["gen_ai.usage.cost.amount"] == float(COST_TOTAL)


def test_bedrock(platform_sim: Simulator, otel: Otel) -> None:
    transport = httpx2.MockTransport(lambda request: _answer(platform_sim, request))
    with anthropic.AnthropicBedrock(
        api_key="bedrock-key",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
        open_telemetry={"tracer_provider": otel.tracer_provider},
    ) as client:
        client.messages.create(model=BEDROCK_MODEL, max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]

    _assert_platform(
        otel,
        "aws.bedrock",
        "bedrock-runtime.us-east-1.amazonaws.com",
        BEDROCK_MODEL,
        f"aws.bedrock/{BEDROCK_MODEL}",
    )


def test_bedrock_beta_async(platform_sim: Simulator, otel: Otel) -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        return _answer(platform_sim, request)

    async def run() -> None:
        async with anthropic.AsyncAnthropicBedrock(
            api_key="bedrock-key",
            aws_region="us-west-2",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
            open_telemetry={"tracer_provider": otel.tracer_provider},
        ) as client:
            await client.beta.messages.create(model=BEDROCK_MODEL, max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]

    asyncio.run(run())
    _assert_platform(
        otel,
        "aws.bedrock",
        "bedrock-runtime.us-west-2.amazonaws.com",
        BEDROCK_MODEL,
        f"aws.bedrock/{BEDROCK_MODEL}",
    )


@pytest.mark.parametrize("beta", [False, True])
def test_vertex_stream_manager(beta: bool, platform_sim: Simulator, otel: Otel) -> None:
    transport = httpx2.MockTransport(lambda request: _answer(platform_sim, request))
    with anthropic.AnthropicVertex(
        region="us-east5",
        project_id="proj",
        access_token="token",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
        open_telemetry={"tracer_provider": otel.tracer_provider},
    ) as client:
        resource = client.beta.messages if beta else client.messages
        with resource.stream(model=VERTEX_MODEL, max_tokens=100, messages=MESSAGES) as stream:  # type: ignore[arg-type]
            stream.until_done()

    _assert_platform(
        otel,
        "gcp.vertex_ai",
        "us-east5-aiplatform.googleapis.com",
        VERTEX_MODEL,
        f"gcp.vertex_ai/{VERTEX_MODEL}",
    )


@pytest.mark.parametrize("instrumentor_kwargs", [{"provider_map": {"llm-gateway.internal": "aws.bedrock"}}])
def test_provider_map_overrides_the_host(platform_sim: Simulator, otel: Otel) -> None:
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(
            200, content=platform_sim.handle(SimRequest("POST", "/v1/messages", body=request.content)).body
        )
    )
    with anthropic.Anthropic(
        api_key="k", base_url="https://llm-gateway.internal", http_client=httpx2.Client(transport=transport)
    ) as client:
        client.messages.create(model=BEDROCK_MODEL, max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]

    a = only_span(otel).attributes or {}
    assert a["gen_ai.provider.name"] == "aws.bedrock"
    assert a["llmcost.pricing.model"] == f"aws.bedrock/{BEDROCK_MODEL}"


def test_vertex_streaming_response(platform_sim: Simulator, otel: Otel) -> None:
    transport = httpx2.MockTransport(lambda request: _answer(platform_sim, request))
    with (
        anthropic.AnthropicVertex(
            region="us-east5",
            project_id="proj",
            access_token="token",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
            open_telemetry={"tracer_provider": otel.tracer_provider},
        ) as client,
        client.messages.with_streaming_response.create(
            model=VERTEX_MODEL,
            max_tokens=100,
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        ) as response,
    ):
        lines = list(response.iter_lines())

    assert lines[-2] == 'data: {"type":"message_stop"}'
    _assert_platform(
        otel,
        "gcp.vertex_ai",
        "us-east5-aiplatform.googleapis.com",
        VERTEX_MODEL,
        f"gcp.vertex_ai/{VERTEX_MODEL}",
    )


def test_bedrock_raw_responses(platform_sim: Simulator, otel: Otel) -> None:
    """A JSON body is ours to price; a raw Bedrock stream (AWS event-stream frames, which we do
    not decode) keeps the SDK's own span, as before."""
    transport = httpx2.MockTransport(lambda request: _answer(platform_sim, request))
    with anthropic.AnthropicBedrock(
        api_key="bedrock-key",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
        open_telemetry={"tracer_provider": otel.tracer_provider},
    ) as client:
        kwargs = {"model": BEDROCK_MODEL, "max_tokens": 100, "messages": MESSAGES}
        with client.messages.with_streaming_response.create(**kwargs) as response:  # type: ignore[call-overload]
            response.parse()
        _assert_platform(
            otel,
            "aws.bedrock",
            "bedrock-runtime.us-east-1.amazonaws.com",
            BEDROCK_MODEL,
            f"aws.bedrock/{BEDROCK_MODEL}",
        )
        otel.exporter.clear()
        with client.messages.with_streaming_response.create(**kwargs, stream=True) as response:  # type: ignore[call-overload]
            response.read()

    (span,) = otel.genai_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "com.anthropic.sdk.python.bedrock"
