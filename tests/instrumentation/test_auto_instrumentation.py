"""``opentelemetry-instrument python app.py``: zero code changes, priced spans exported over OTLP."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from otel_llmcost.simulator import Simulator, UsageRule
from tests.otlp_receiver import otlp_http_receiver

BIN = Path(sys.executable).parent

APP = textwrap.dedent(
    """
    import os, sys
    import anthropic, openai
    from google import genai
    from google.genai import types
    import otel_llmcost

    sim = os.environ["SIM_URL"]
    oai = openai.OpenAI(base_url=sim + "/v1", api_key="sk-planted-secret", max_retries=0)
    with otel_llmcost.attribute(team="search", user="u-42"):
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        for _ in oai.chat.completions.create(model="gpt-4o-mini", stream=True,
                                             messages=[{"role": "user", "content": "stream"}]):
            pass
    claude = anthropic.Anthropic(base_url=sim, api_key="k", max_retries=0)
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    gem = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=sim))
    gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    print("app done", file=sys.stderr)
    """
)


def test_opentelemetry_instrument_end_to_end(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    with Simulator() as sim, otlp_http_receiver() as (endpoint, received):
        sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50))
        env = {
            **os.environ,
            "SIM_URL": sim.url,
            "OTEL_SERVICE_NAME": "e2e-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "",
        }
        result = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(app)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "app done" in result.stderr
        spans = received.wait_for(4)
    genai = [s for s in spans if "gen_ai.operation.name" in s["attributes"]]
    assert sorted(s["name"] for s in genai) == [
        "chat claude-sonnet-4-5",
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "generate_content gemini-2.5-flash",
    ]
    assert {s["scope"] for s in genai} == {"otel_llmcost.instrumentation"}
    first = next(
        s
        for s in genai
        if s["name"] == "chat gpt-4o-mini" and "llmcost.request.streaming" not in s["attributes"]
    )
    assert first["attributes"]["gen_ai.usage.cost.amount"] == 0.0001332
    assert first["attributes"]["llmcost.team"] == "search"
    assert first["attributes"]["llmcost.user"] == "u-42"
    assert first["resource"]["service.name"] == "e2e-app"
    assert all("gen_ai.usage.cost.amount" in s["attributes"] for s in genai)
    assert "sk-planted-secret" not in repr(spans)
