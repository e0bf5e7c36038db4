"""A REAL Prometheus server for tests: ``/usr/bin/prometheus`` (Debian's) on a free 127.0.0.1 port.

::

    with PrometheusServer(tmp_path, targets=["127.0.0.1:9464"]) as prom:
        prom.wait_for("sum(llmcost_cost_usd_total)", lambda v: v == 0.0001332)

It scrapes the given targets (or whole ``scrape_configs``) every second, evaluates
``rule_files`` every second, and takes ``alerting`` (an Alertmanager block) and ``extra_flags``
(e.g. ``--rules.alert.resend-delay=1s``) for tests that need them. Storage lives in a temporary
directory; :meth:`stop` terminates the process. Tests that use it are marked ``services``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
_START_ATTEMPTS = 3  # a free port can be taken between choosing and binding it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    def __init__(
        self,
        workdir: Path,
        *,
        targets: Sequence[str] = (),
        scrape_configs: Sequence[Mapping[str, Any]] | None = None,
        rule_files: Sequence[str | Path] = (),
        alerting: Mapping[str, Any] | None = None,
        extra_flags: Sequence[str] = (),
        interval: str = "1s",
        startup_timeout: float = 30.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if scrape_configs is None:
            scrape_configs = [{"job_name": "llmcost", "static_configs": [{"targets": list(targets)}]}]
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": interval,
                "evaluation_interval": interval,
                "scrape_timeout": interval,
            },
            "scrape_configs": list(scrape_configs),
            "rule_files": [str(Path(f).resolve()) for f in rule_files],
        }
        if alerting is not None:
            config["alerting"] = dict(alerting)
        self.config_file = self.workdir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.extra_flags = list(extra_flags)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            command = [
                PROMETHEUS,
                f"--config.file={self.config_file}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                "--log.level=warn",
                *self.extra_flags,
            ]
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(
            f"Prometheus did not become ready; see {self.log}:\n{self.log.read_text()[-2000:]}"
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False  # exited: most likely the port was taken
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling the readiness endpoint: there is nothing to block on
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP API ---------------------------------------------------------------------------

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            payload = json.loads(response.read())
        assert payload["status"] == "success", payload
        return payload["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr``: ``[{"metric": {...}, "value": [ts, "v"]}, ...]``."""
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = (
            data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]
        )
        return result

    def value(self, expr: str) -> float | None:
        """The single value of ``expr``, or ``None`` when the result is empty."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def wait_for(
        self, expr: str, predicate: Callable[[float | None], bool], timeout: float = 20.0
    ) -> float | None:
        """Poll ``expr`` until ``predicate(value)`` holds (scrapes happen every interval)."""
        deadline = time.monotonic() + timeout
        value = self.value(expr)
        while not predicate(value):
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} = {value} after {timeout} s")
            time.sleep(0.2)  # the next scrape is on Prometheus's clock: poll its API
            value = self.value(expr)
        return value

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.api("targets")["activeTargets"]
        return active

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[..., PrometheusServer]]:
    """``prometheus_factory(targets=[...], rule_files=[...], extra_flags=[...])``: started, stopped after."""
    servers: list[PrometheusServer] = []

    def make(**kwargs: Any) -> PrometheusServer:
        server = PrometheusServer(tmp_path / f"prometheus-{len(servers)}", **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
