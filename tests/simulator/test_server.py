"""The HTTP adapter, the mock transports' failure modes, and the standalone server process."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest

from otel_llmcost.simulator import Simulator

HELLO = [{"role": "user", "content": "hi"}]
REPO = Path(__file__).resolve().parents[2]


def test_chunked_stream_and_keep_alive_over_raw_http(sim: Simulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        conn.request("POST", "/v1/chat/completions", body=b'{"model":"m","messages":[],"stream":true}')
        bad = conn.getresponse()
        assert bad.status == 400 and b"messages" in bad.read()
        body = b'{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}'
        conn.request("POST", "/v1/chat/completions", body=body)  # same connection
        response = conn.getresponse()
        assert response.getheader("transfer-encoding") == "chunked"
        assert response.read().endswith(b"data: [DONE]\n\n")
    finally:
        conn.close()
    assert [r.body for r in sim.requests][-1] == body


def test_chunked_request_body_is_read(sim: Simulator) -> None:
    def parts() -> object:
        yield b'{"model":"m","messages":'
        yield b'[{"role":"user","content":"x"}]}'

    response = httpx2.post(sim.openai_base_url + "/chat/completions", content=parts())
    assert response.status_code == 200
    assert sim.requests[0].body == b'{"model":"m","messages":[{"role":"user","content":"x"}]}'


def test_fail_mid_stream_raises_connection_error(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.config.fail_mid_stream = True
    sim.config.fail_after_chunks = 3
    stream = oai.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    received: list[object] = []
    with pytest.raises(openai.APIConnectionError):
        received.extend(stream)  # keeps what arrived before the cut
    assert len(received) == 3
    sim.config.fail_mid_stream = False
    assert len(list(oai.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))) == 22


def test_fail_mid_stream_anthropic(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.config.fail_mid_stream = True
    # anthropic 2.x lets the transport error through mid-stream (openai wraps it).
    with pytest.raises(httpx2.RemoteProtocolError):
        list(claude.messages.create(model="claude-x", max_tokens=9, messages=HELLO, stream=True))


def test_latency_and_chunk_delay(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.config.latency_s = 0.15
    sim.config.reply_tokens = 4
    started = time.perf_counter()
    oai.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert time.perf_counter() - started >= 0.15
    sim.config.latency_s = 0.0
    sim.config.chunk_delay_s = 0.03
    started = time.perf_counter()
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert len(chunks) == 6 and time.perf_counter() - started >= 0.03 * 6  # 7 frames incl. [DONE]


def test_lifecycle_errors_and_restart() -> None:
    simulator = Simulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = simulator.url
    with simulator:
        with pytest.raises(RuntimeError, match="already started"):
            simulator.start()
        idle = http.client.HTTPConnection("127.0.0.1", simulator.port, timeout=10)
        idle.request("POST", "/v1/embeddings", body=b'{"model":"e","input":"x"}')
        assert idle.getresponse().read()
    simulator.stop()  # idempotent; the idle keep-alive connection was dropped by stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = simulator.port
    with simulator:
        assert (
            httpx2.post(simulator.url + "/v1/embeddings", json={"model": "e", "input": "x"}).status_code
            == 200
        )
    idle.close()


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_standalone_server_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("reply_tokens: 3\nrules:\n  - model: 'gpt-*'\n    prompt_tokens: 99\n")
    with subprocess.Popen(
        [sys.executable, "-m", "otel_llmcost.simulator", "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_python_env(),
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # printed once the socket accepts connections
            assert line.startswith("otel-llmcost simulator listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1].strip()
            with openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0) as client:
                usage = client.chat.completions.create(model="gpt-4o", messages=HELLO).usage
            assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (99, 3)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_standalone_help_and_bad_config(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "otel_llmcost.simulator"]
    shown = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, env=_python_env(), timeout=30
    )
    assert shown.returncode == 0 and "--port" in shown.stdout and "--config" in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("nonsense: 1\n")
    refused = subprocess.run(
        [*command, "--port", "0", "--config", str(bad)],
        capture_output=True,
        text=True,
        env=_python_env(),
        timeout=30,
    )
    assert (
        refused.returncode == 2 and "unknown key 'nonsense'" in refused.stderr and str(bad) in refused.stderr
    )


def test_concurrent_requests_are_all_answered_and_recorded(sim: Simulator) -> None:
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"concurrent"}]}'

    def call(client: httpx2.Client) -> str:
        response = client.post("/v1/chat/completions", content=body)
        assert response.status_code == 200
        return str(response.json()["id"])

    with httpx2.Client(base_url=sim.url) as shared, ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(call, [shared] * 64))
    assert len(set(ids)) == 64
    assert len(sim.requests) == 64 and all(r.body == body for r in sim.requests)
