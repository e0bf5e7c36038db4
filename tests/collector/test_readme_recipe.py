"""README's "Instrument an app" recipe, run as written against a real collector: the environment
it exports, ``opentelemetry-instrument python app.py``, an openai call to the simulator — and the
call lands in the ledger, priced, with no export error on the app's stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_llmcost.collector import Collector
from otel_llmcost.simulator import Simulator, UsageRule

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent

APP = textwrap.dedent(
    """
    import os, sys
    import openai

    client = openai.OpenAI(base_url=os.environ["SIM_URL"] + "/v1", api_key="k", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    print("app done", file=sys.stderr)
    """
)


def recipe() -> tuple[dict[str, str], list[str]]:
    """The ``export`` assignments and the command of the README's first block under
    "## Instrument an app"."""
    section = README.read_text().split("## Instrument an app", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    env: dict[str, str] = {}
    command: list[str] = []
    for line in block.splitlines():
        if line.startswith("export "):
            env.update(re.findall(r"(\w+)=(\S+)", line))
        elif line.startswith("opentelemetry-instrument "):
            command = line.split()
    return env, command


def test_the_recipe_block_is_what_this_test_runs() -> None:
    env, command = recipe()
    assert env == {
        "OTEL_SERVICE_NAME": "my-app",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    assert command == ["opentelemetry-instrument", "python", "app.py"]


@pytest.mark.parametrize(
    ("variant", "token"),
    [
        ("as-written", None),
        ("grpc-on-4317", None),
        ("as-written", "s3cret-tok"),
        ("grpc-on-4317", "s3cret-tok"),
    ],
)
def test_the_readme_recipe_prices_the_call_in_the_collector(
    start_collector: Callable[..., Collector], tmp_path: Path, variant: str, token: str | None
) -> None:
    collector = start_collector(bearer_token=token)
    env, command = recipe()
    if variant == "as-written":  # the README's 4318, where this collector's OTLP/HTTP port is
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{collector.addresses['otlp_http']}"
    else:  # "…:4317 without the protocol line works as well": the distro's default, gRPC
        del env["OTEL_EXPORTER_OTLP_PROTOCOL"]
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{collector.addresses['otlp_grpc']}"
    if token is not None:  # what the Helm chart's appEnv gives the app once Kubernetes expands it
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer {token}"
    (tmp_path / "app.py").write_text(APP)
    with Simulator() as sim:
        sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50))
        base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        run = subprocess.run(
            [str(BIN / command[0]), sys.executable, *command[2:]],
            env={**base, **env, "SIM_URL": sim.url},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert run.stderr == "app done\n"  # no export error, no warning
    (record,) = list(collector.ledger.records())
    assert (record.service, record.request_model, record.cost_nanos) == ("my-app", "gpt-4o-mini", 133_200)
