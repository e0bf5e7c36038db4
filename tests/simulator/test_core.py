"""The socket-free core: routing, error shapes, injection, recording, ids, raw wire bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_llmcost.simulator import SimConfig, SimRequest, SimResponse, Simulator, UsageRule, handle

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def post(sim: Simulator, path: str, body: object, headers: dict[str, str] | None = None) -> SimResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return sim.handle(SimRequest("POST", path.partition("?")[0], path.partition("?")[2], headers or {}, raw))


def body_of(response: SimResponse) -> Any:
    return json.loads(response.body)


def frames(response: SimResponse) -> list[bytes]:
    assert response.chunks is not None
    return list(response.chunks)


@pytest.fixture
def core() -> Simulator:
    return Simulator(clock=lambda: 42.9)  # never started: the core needs no socket


def test_unknown_paths_get_each_providers_404(core: Simulator) -> None:
    openai_404 = post(core, "/v1/nope", {})
    assert openai_404.status == 404
    assert body_of(openai_404)["error"] == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    anthropic_404 = post(core, "/v1/complete", {}, {"anthropic-version": "2023-06-01"})
    assert body_of(anthropic_404)["error"]["type"] == "not_found_error"
    gemini_404 = post(core, "/v1beta/models/x:predict", {})
    assert (
        body_of(gemini_404)["error"]["status"] == "NOT_FOUND" and body_of(gemini_404)["error"]["code"] == 404
    )
    assert core.handle(SimRequest("GET", "/v1/chat/completions")).status == 404


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("/v1/chat/completions", lambda b: b["error"]["type"] == "invalid_request_error"),
        ("/v1/messages", lambda b: b["type"] == "error" and b["error"]["type"] == "invalid_request_error"),
        ("/v1/models/g:generateContent", lambda b: b["error"]["status"] == "INVALID_ARGUMENT"),
    ],
)
def test_invalid_json_gets_provider_400(core: Simulator, path: str, check: Any) -> None:
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = post(core, path, raw)
        assert response.status == 400 and check(body_of(response))


def test_bad_fields_never_crash(core: Simulator) -> None:
    cases = [
        ("/v1/chat/completions", {"model": "m", "messages": "nope"}),
        ("/v1/chat/completions", {**CHAT, "max_tokens": -1}),
        ("/v1/completions", {"model": "m", "prompt": [{"x": 1}]}),
        ("/v1/embeddings", {"model": "m", "input": ""}),
        ("/v1/embeddings", {"model": "m", "input": "x", "encoding_format": "int8"}),
        ("/v1/responses", {"model": "m", "input": 5}),
        ("/v1/messages", {"model": "m", "max_tokens": 5, "messages": [{"role": "robot"}]}),
        ("/v1/models/g:generateContent", {"contents": [], "generationConfig": {"maxOutputTokens": "x"}}),
        ("/v1/models/g:batchEmbedContents", {"requests": [3]}),
    ]
    for path, body in cases:
        assert post(core, path, body).status == 400, (path, body)


def test_injection_filters_and_counts(core: Simulator) -> None:
    core.inject_error(500, times=2, provider="anthropic")
    core.inject_error(503, path_glob="*:generateContent", body={"custom": True})
    assert post(core, "/v1/chat/completions", CHAT).status == 200
    assert post(core, "/v1/models/g:generateContent", GEMINI).status == 503
    assert body_of(post(core, "/v1/models/g:generateContent", GEMINI)) != {"custom": True}
    assert [post(core, "/v1/messages", MESSAGES).status for _ in range(3)] == [500, 500, 200]
    core.inject_error(429, provider="gemini", message="slow down")
    limited = post(core, "/v1/models/g:countTokens", GEMINI)
    assert limited.headers["retry-after"] == "1"
    assert body_of(limited) == {
        "error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}
    }
    core.inject_error(502, body=b"<html>bad gateway</html>")
    assert post(core, "/v1/embeddings", {"model": "e", "input": "x"}).body == b"<html>bad gateway</html>"
    with pytest.raises(ValueError, match="status"):
        core.inject_error(200)


def test_requests_recorded_byte_exact_and_clear(core: Simulator) -> None:
    raw = b'{"model": "gpt-4o",  "messages": [{"role":"user","content":"hi"}]}'
    core.handle(SimRequest("POST", "/v1/chat/completions", "a=1&b=2", {"x-test": "1"}, raw))
    (recorded,) = core.requests
    assert (
        recorded.body == raw and recorded.params == {"a": "1", "b": "2"} and recorded.header("X-Test") == "1"
    )
    core.inject_error(500)
    core.clear()
    assert core.requests == [] and post(core, "/v1/chat/completions", CHAT).status == 200


def test_ids_unique_and_clock_fixed(core: Simulator) -> None:
    bodies = [body_of(post(core, "/v1/chat/completions", CHAT)) for _ in range(3)]
    assert len({b["id"] for b in bodies}) == 3
    assert {b["created"] for b in bodies} == {42}


def test_openai_stream_frames_on_the_wire(core: Simulator) -> None:
    response = post(
        core, "/v1/chat/completions", {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    )
    raw = frames(response)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert raw[-1] == b"data: [DONE]\n\n"
    assert all(f.startswith(b"data: ") and f.endswith(b"\n\n") for f in raw)
    assert b'"usage":null' in raw[0] and json.loads(raw[-2][6:])["choices"] == []


def test_anthropic_stream_sends_ping_after_block_start(core: Simulator) -> None:
    raw = frames(post(core, "/v1/messages", {**MESSAGES, "stream": True}))
    events = [f.split(b"\n", 1)[0] for f in raw]
    assert events[:3] == [b"event: message_start", b"event: content_block_start", b"event: ping"]


def test_gemini_stream_uses_crlf_and_json_array_without_sse(core: Simulator) -> None:
    raw = frames(post(core, "/v1/models/g:streamGenerateContent?alt=sse", GEMINI))
    assert all(f.startswith(b"data: {") and f.endswith(b"\r\n\r\n") for f in raw)
    whole = post(core, "/v1/models/g:streamGenerateContent", GEMINI)
    assert whole.chunks is None and len(body_of(whole)) == 20


def test_module_level_handle_uses_given_config() -> None:
    config = SimConfig(rules={"gpt-*": UsageRule(prompt_tokens=5, completion_tokens=2)})
    response = handle(SimRequest("POST", "/v1/chat/completions", body=json.dumps(CHAT).encode()), config)
    assert body_of(response)["usage"]["total_tokens"] == 7
    other = handle(SimRequest("POST", "/v1/chat/completions", body=json.dumps(CHAT).encode()))
    assert (
        body_of(other)["usage"]["completion_tokens"] == 20 and body_of(other)["id"] != body_of(response)["id"]
    )


def test_config_latency_and_failure_reach_responses(core: Simulator) -> None:
    core.config.latency_s = 0.25
    core.config.chunk_delay_s = 0.01
    core.config.fail_mid_stream = True
    streamed = post(core, "/v1/chat/completions", {**CHAT, "stream": True})
    assert (streamed.latency_s, streamed.chunk_delay_s, streamed.fail_after_chunks) == (0.25, 0.01, 2)
    plain = post(core, "/v1/chat/completions", CHAT)
    assert (plain.latency_s, plain.fail_after_chunks) == (0.25, None)


def test_audio_prompt_tokens_in_each_providers_details(core: Simulator) -> None:
    core.set_rule("*", UsageRule(prompt_tokens=300, audio_prompt_tokens=100))
    details = body_of(post(core, "/v1/chat/completions", CHAT))["usage"]["prompt_tokens_details"]
    assert details == {"cached_tokens": 0, "audio_tokens": 100}
    usage = body_of(post(core, "/v1/models/g:generateContent", GEMINI))["usageMetadata"]
    assert usage["promptTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": 200},
        {"modality": "AUDIO", "tokenCount": 100},
    ]
    assert body_of(post(core, "/v1/messages", MESSAGES))["usage"]["input_tokens"] == 300


def test_stream_chunk_tokens_groups_deltas(core: Simulator) -> None:
    core.config.stream_chunk_tokens = 5
    raw = frames(post(core, "/v1/chat/completions", {**CHAT, "stream": True}))
    contents = [json.loads(f[6:])["choices"][0]["delta"].get("content") for f in raw[:-1]]
    assert contents[0] == "" and [len(c.split()) for c in contents[1:-1]] == [5, 5, 5, 5]
