"""A REAL Prometheus server (``/usr/bin/prometheus``, Debian's) and a REAL Alertmanager
(``/usr/bin/prometheus-alertmanager``) for tests, each on a free 127.0.0.1 port.

::

    with PrometheusServer(tmp_path, targets=["127.0.0.1:9464"]) as prom:
        prom.wait_for("sum(llmcost_cost_usd_total)", lambda v: v == 0.0001332)

It scrapes the given targets (or whole ``scrape_configs``) every second, evaluates
``rule_files`` every second, and takes ``alerting`` (an Alertmanager block) and ``extra_flags``
(e.g. ``--rules.alert.resend-delay=1s``) for tests that need them. Storage lives in a temporary
directory; :meth:`stop` terminates the process. Tests that use it are marked ``services``.

``AlertmanagerServer(workdir, config)`` runs an Alertmanager on a configuration (a mapping or
YAML text) with clustering off; :attr:`~AlertmanagerServer.prometheus_block` is the
``alerting`` block that points a :class:`PrometheusServer` at it.
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
from typing import Any, TypeVar

import pytest
import yaml

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
_START_ATTEMPTS = 3  # a free port can be taken between choosing and binding it
_S = TypeVar("_S", bound="_ServerProcess")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ServerProcess:
    """A server binary on a free loopback port: started (retrying when the port was taken between
    choosing and binding it), polled until ``/-/ready`` answers, terminated by :meth:`stop`."""

    name = "server"

    def __init__(
        self, workdir: Path, *, extra_flags: Sequence[str] = (), startup_timeout: float = 30.0
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_flags = list(extra_flags)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / f"{self.name}.log"

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self: _S) -> _S:
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            command = [*self.command(self.port), *self.extra_flags]
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(
            f"{self.name} did not become ready; see {self.log}:\n{self.log.read_text()[-2000:]}"
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

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get_json(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            return json.loads(response.read())


class PrometheusServer(_ServerProcess):
    name = "prometheus"

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
        super().__init__(workdir, extra_flags=extra_flags, startup_timeout=startup_timeout)
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

    def command(self, port: int) -> list[str]:
        return [
            PROMETHEUS,
            f"--config.file={self.config_file}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            "--log.level=warn",
        ]

    # -- HTTP API ---------------------------------------------------------------------------

    def api(self, path: str, **params: str) -> Any:
        payload = self.get_json(f"/api/v1/{path}", **params)
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


class AlertmanagerServer(_ServerProcess):
    """``prometheus-alertmanager`` on ``config`` (a mapping, or YAML text kept as written), with
    its HA cluster listener off so parallel tests never share a gossip port."""

    name = "alertmanager"

    def __init__(
        self,
        workdir: Path,
        config: Mapping[str, Any] | str,
        *,
        extra_flags: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        super().__init__(workdir, extra_flags=extra_flags, startup_timeout=startup_timeout)
        self.config_file = self.workdir / "alertmanager.yml"
        text = config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False)
        self.config_file.write_text(text)

    def command(self, port: int) -> list[str]:
        return [
            ALERTMANAGER,
            f"--config.file={self.config_file}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.path={self.workdir / 'data'}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    @property
    def prometheus_block(self) -> dict[str, Any]:
        """The ``alerting`` block of a Prometheus configuration that sends to this Alertmanager."""
        return {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}]}]}

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (API v2): ``labels``, ``annotations``, ``status`` ..."""
        alerts: list[dict[str, Any]] = self.get_json("/api/v2/alerts")
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


@pytest.fixture
def alertmanager_factory(tmp_path: Path) -> Iterator[Callable[..., AlertmanagerServer]]:
    """``alertmanager_factory(config)``: an Alertmanager started on ``config``, stopped after."""
    servers: list[AlertmanagerServer] = []

    def make(config: Mapping[str, Any] | str, **kwargs: Any) -> AlertmanagerServer:
        server = AlertmanagerServer(tmp_path / f"alertmanager-{len(servers)}", config, **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
