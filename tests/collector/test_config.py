"""Configuration: the documented default file, precedence, and refusals that name file, key and
reason — through load_config and through the CLI (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from otel_llmcost.collector import CollectorConfig, load_config
from otel_llmcost.collector._config_values import PROTOCOL_GRPC, Address, ForwardEndpoint
from otel_llmcost.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FILE = REPO / "collector" / "config.yaml"
CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]


def write(tmp_path: Path, data: object, name: str = "c.yaml") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def test_the_documented_file_is_exactly_the_defaults() -> None:
    assert load_config(DEFAULT_FILE, env={}) == CollectorConfig()
    assert load_config(env={}) == CollectorConfig()


def test_every_key_of_the_documented_file_is_commented() -> None:
    lines = DEFAULT_FILE.read_text().splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not stripped.endswith(":"):
            assert lines[index - 1].strip().startswith("#"), f"undocumented key: {stripped}"


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        {
            "receivers": {"otlp_grpc": {"endpoint": "0.0.0.0:1"}},
            "api": {"listen": "0.0.0.0:2"},
            "ledger": {"url": "sqlite:///f.db"},
        },
    )
    env = {
        "OTEL_LLMCOST_LISTEN": "127.0.0.1:3",
        "OTEL_LLMCOST_LEDGER": "sqlite:///e.db",
        "OTEL_LLMCOST_INTAKE_CAPACITY": "64",
    }
    config = load_config(
        file, env=env, flags={"--ledger": "sqlite:///flag.db", "--otlp-http": "[::1]:0", "--prices": None}
    )
    assert config.otlp_grpc == Address("0.0.0.0", 1)
    assert config.listen == Address("127.0.0.1", 3)
    assert config.otlp_http == Address("::1", 0) and str(config.otlp_http) == "[::1]:0"
    assert (config.ledger_url, config.intake_capacity, config.source) == ("sqlite:///flag.db", 64, file)


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    file = write(tmp_path, {"pipeline": {"intake_capacity_spans": 7}})
    assert load_config(env={"OTEL_LLMCOST_CONFIG": file}).intake_capacity == 7


def test_forward_endpoints_auth_tls_and_labels(tmp_path: Path, tls_files: tuple[str, str]) -> None:
    cert, key = tls_files
    token = tmp_path / "token"
    token.write_text("from-a-file\n")
    file = write(tmp_path, {
        "receivers": {"otlp_http": {"enabled": False}, "auth": {"bearer_token_file": str(token)}, "tls": {"cert_file": cert, "key_file": key}},
        "forward": {"endpoints": ["http://tempo:4318", {"endpoint": "jaeger:4317", "protocol": "grpc", "headers": {"X-Org": "a"}}]},
        "metrics": {"extra_labels": ["user"], "series_cap": {"user": 50}},
    })  # fmt: skip
    config = load_config(file, env={})
    assert (config.otlp_http, config.bearer_token, config.extra_labels) == (None, "from-a-file", ("user",))
    assert config.tls is not None and config.tls.cert_file == cert
    assert config.forward == (
        ForwardEndpoint("http://tempo:4318/v1/traces", name="tempo:4318"),
        ForwardEndpoint("http://jaeger:4317", PROTOCOL_GRPC, "jaeger:4317", (("x-org", "a"),)),
    )
    # A credential from the environment (a Secret), not written in the file; a CA for https.
    file = write(tmp_path, {"forward": {"endpoints": [
        {"endpoint": "https://tempo:4318", "ca_file": cert, "headers": {"Authorization": "Basic ${env:TEMPO_AUTH}", "X-Scope-OrgID": "${env:ORG}-${env:ORG}"}},
    ]}})  # fmt: skip
    assert load_config(file, env={"TEMPO_AUTH": "dTpw", "ORG": "shop"}).forward == (
        ForwardEndpoint(
            "https://tempo:4318/v1/traces",
            name="tempo:4318",
            headers=(("authorization", "Basic dTpw"), ("x-scope-orgid", "shop-shop")),
            ca_file=cert,
        ),
    )
    env = {
        "OTEL_LLMCOST_FORWARD_ENDPOINTS": "http://a:4317, http://b:4317",
        "OTEL_LLMCOST_FORWARD_PROTOCOL": "grpc",
    }
    assert [e.protocol for e in load_config(env=env).forward] == [PROTOCOL_GRPC, PROTOCOL_GRPC]


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        ({"receivers": {"otlp_grcp": {}}}, "receivers.otlp_grcp", "unknown key"),
        (
            {"receivers": {"otlp_grpc": {"endpoint": "localhost"}}},
            "receivers.otlp_grpc.endpoint",
            "HOST:PORT",
        ),
        ({"receivers": {"otlp_grpc": {"endpoint": "h:70000"}}}, "receivers.otlp_grpc.endpoint", "HOST:PORT"),
        ({"receivers": {"max_request_bytes": "big"}}, "receivers.max_request_bytes", "expected a number"),
        (
            {"receivers": {"tls": {"cert_file": "/nope.pem"}}},
            "receivers.tls.cert_file",
            "both cert_file and key_file",
        ),
        (
            {"receivers": {"tls": {"cert_file": "/nope.pem", "key_file": "/nope.key"}}},
            "receivers.tls.cert_file",
            "cannot load",
        ),
        (
            {"receivers": {"auth": {"bearer_token_file": "/no/such/token"}}},
            "receivers.auth.bearer_token_file",
            "cannot read",
        ),
        (
            {"receivers": {"otlp_grpc": {"enabled": False}, "otlp_http": {"enabled": "no"}}},
            "receivers.otlp_grpc.enabled",
            "both OTLP receivers",
        ),
        ({"pipeline": {"intake_capacity_spans": 0}}, "pipeline.intake_capacity_spans", "at least 1"),
        (
            {"pipeline": {"commit_timeout_seconds": True}},
            "pipeline.commit_timeout_seconds",
            "expected a number",
        ),
        ({"metrics": {"labels": ["provider", "colour"]}}, "metrics.labels", "unknown label"),
        # The chart always writes extra_labels: the bad value is still in labels.
        (
            {"metrics": {"labels": ["provider", "colour"], "extra_labels": []}},
            "metrics.labels",
            "unknown label",
        ),
        (
            {"metrics": {"labels": ["provider"], "extra_labels": ["colour"]}},
            "metrics.extra_labels",
            "unknown",
        ),
        ({"metrics": {"extra_labels": ["provider"]}}, "metrics.extra_labels", "duplicate label"),
        (
            {"forward": {"endpoints": [{"endpoint": "https://tempo:4318", "ca_file": "/no/ca.pem"}]}},
            "forward.endpoints[0].ca_file",
            "cannot load /no/ca.pem: No such file or directory",
        ),
        (
            {"forward": {"endpoints": [{"endpoint": "http://tempo:4318", "ca_file": "/no/ca.pem"}]}},
            "forward.endpoints[0].ca_file",
            "only used with an https:// endpoint, got 'http://tempo:4318'",
        ),
        (
            {
                "forward": {
                    "endpoints": [
                        {"endpoint": "http://t:1", "headers": {"Authorization": "Basic ${env:NOPE}"}}
                    ]
                }
            },
            "forward.endpoints[0].headers.authorization",
            "environment variable NOPE is not set",
        ),
        ({"metrics": {"series_cap": {"user": 5}}}, "metrics.series_cap", "series_cap"),
        (
            {"forward": {"endpoints": [{"endpoint": "ftp://x"}]}},
            "forward.endpoints[0].endpoint",
            "http:// or https://",
        ),
        (
            {"forward": {"endpoints": ["http://a:1", {"endpoint": "http://b:1", "protocol": "zipkin"}]}},
            "forward.endpoints[1].protocol",
            "grpc",
        ),
        ({"forward": {"max_backoff_seconds": 0.5}}, "forward.max_backoff_seconds", "at least"),
        ({"shutdown": {"timeout_seconds": -1}}, "shutdown.timeout_seconds", "at least"),
        ("receivers: [1, 2", None, "invalid YAML at line 1, column 17: expected ',' or ']'"),
        (
            "anomalies: {daily_cost_threshold_usd: 2026-13-01}",
            None,
            "invalid YAML value: month must be in 1..12",
        ),
        (
            {"pipeline": {"intake_capacity_spans": "1e400"}},
            "pipeline.intake_capacity_spans",
            "expected a finite number",
        ),
        (
            {"pipeline": {"commit_timeout_seconds": "nan"}},
            "pipeline.commit_timeout_seconds",
            "expected a finite number",
        ),
        (
            {"anomalies": {"daily_cost_threshold_usd": "1e20"}},
            "anomalies.daily_cost_threshold_usd",
            "1E+20 USD is more",
        ),
        (
            {"ledger": {"url": "mysql://x"}},
            "ledger.url",
            "unsupported scheme 'mysql'; expected sqlite or postgresql (got 'mysql://x')",
        ),
        (["a list"], None, "must be a mapping"),
    ],
)
def test_bad_values_name_the_file_the_key_and_the_reason(
    tmp_path: Path, data: object, key: str | None, reason: str
) -> None:
    file = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(file, env={})
    assert (caught.value.file, caught.value.key) == (file, key)
    assert reason in caught.value.reason


def test_a_file_setting_that_names_an_unreadable_file_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    file = write(tmp_path, {"budgets": {"policy": "/no/such/budgets.yaml"}, "pricing": {"overrides": None}})
    with pytest.raises(ConfigError) as caught:
        load_config(file, env={})
    assert str(caught.value) == (
        f"{file}: budgets.policy: cannot read /no/such/budgets.yaml: No such file or directory"
    )
    file = write(tmp_path, {"pricing": {"overrides": "prices.yaml"}})
    with pytest.raises(ConfigError) as caught:
        load_config(file, env={})
    assert str(caught.value) == (
        f"{file}: pricing.overrides: cannot read prices.yaml: No such file or directory"
        f" (relative to the working directory {tmp_path})"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(env={"OTEL_LLMCOST_BUDGETS": str(tmp_path)})
    assert str(caught.value) == f"environment: OTEL_LLMCOST_BUDGETS: cannot read {tmp_path}: Is a directory"
    with pytest.raises(ConfigError) as caught:
        load_config(env={}, flags={"--prices": "/no/prices.yaml"})
    assert (
        str(caught.value) == "command line: --prices: cannot read /no/prices.yaml: No such file or directory"
    )
    (tmp_path / "prices.yaml").write_text("models: {}\n")
    assert load_config(file, env={}).prices == "prices.yaml"


def test_environment_and_flag_errors_name_the_variable_and_the_flag() -> None:
    with pytest.raises(ConfigError) as env_error:
        load_config(env={"OTEL_LLMCOST_INTAKE_CAPACITY": "lots"})
    assert (env_error.value.file, env_error.value.key) == ("environment", "OTEL_LLMCOST_INTAKE_CAPACITY")
    with pytest.raises(ConfigError) as flag_error:
        load_config(env={}, flags={"--listen": "nowhere"})
    assert (flag_error.value.file, flag_error.value.key) == ("command line", "--listen")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("/no/such/config.yaml", env={})


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLMCOST_")}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def test_the_cli_refuses_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    file = write(tmp_path, {"pipeline": {"intake_capacity_spans": -3}})
    result = run_cli("collector", "--config", file, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        f"invalid configuration: {file}: pipeline.intake_capacity_spans: must be at least 1" in result.stderr
    )
    bad_prices = write(tmp_path, {"models": {"x": {"input": "free"}}}, "prices.yaml")
    priced = run_cli("collector", "--prices", bad_prices, "--otlp-grpc", "127.0.0.1:0", cwd=tmp_path)
    assert priced.returncode == 2 and bad_prices in priced.stderr
    ledger = run_cli("collector", "--ledger", "mysql://x", cwd=tmp_path)
    assert ledger.returncode == 2 and "ledger" in ledger.stderr


def test_help_everywhere(tmp_path: Path) -> None:
    top = run_cli("--help", cwd=tmp_path)
    assert top.returncode == 0 and "collector" in top.stdout
    sub = run_cli("collector", "--help", cwd=tmp_path)
    assert sub.returncode == 0
    for flag in ("--config", "--otlp-grpc", "--otlp-http", "--listen", "--ledger", "--prices"):
        assert flag in sub.stdout
