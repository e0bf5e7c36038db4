"""Run the demo end to end: simulator, collector, an instrumented app, then stop everything.

Every process is ours and started here: the simulator and the collector on free loopback ports
(``port 0``; each prints its bound address on a ready line), the sample app under
``opentelemetry-instrument`` exporting OTLP/HTTP to the collector. The app's exporter flushes at
exit and the collector acknowledges an export only once it is committed, so when the app has
exited the ledger is complete. Everything is stopped in ``finally``: nothing is left running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DemoRun", "run_demo"]

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class DemoRun:
    ledger_url: str
    budgets_file: Path
    metrics_url: str
    api_url: str
    app_stderr: str


def _data(name: str) -> Path:
    return Path(str(resources.files("otel_llmcost.demo").joinpath(name)))


@contextmanager
def _process(
    command: list[str], *, cwd: Path, ready: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start ``command``; yield its ready line; terminate it (then kill) on the way out."""
    try:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except OSError as error:
        raise RuntimeError(f"cannot start {Path(command[0]).name} in {cwd}: {_reason(error)}") from None
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if ready not in line:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"{Path(command[0]).name} did not start: {(line + err).strip()[-800:]}")
        yield line.strip()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split() if "=" in part)


def _reason(err: OSError, said: Path | None = None) -> str:
    """The OS's reason, with the file it concerns unless that is ``said`` already."""
    named = err.filename is not None and str(err.filename) != str(said)
    return f"{err.strerror or err}" + (f" ({err.filename})" if named else "")


def _prepare(workdir: Path) -> Path:
    """Create ``workdir``, delete the last run's ledger, copy the budget file in; return it."""
    budgets = workdir / "budgets.yaml"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        for stale in workdir.glob("ledger.db*"):
            stale.unlink()
        shutil.copyfile(_data("budgets.yaml"), budgets)
    except OSError as err:
        raise RuntimeError(f"cannot use {workdir} as the demo directory: {_reason(err, workdir)}") from None
    return budgets


def run_demo(workdir: Path) -> DemoRun:
    """Run everything in ``workdir`` (its ledger is replaced); return where the results are.

    Raises :class:`RuntimeError` (one line) when ``workdir`` cannot be used or a part fails."""
    budgets = _prepare(workdir)
    ledger = workdir / "ledger.db"
    ledger_url = f"sqlite:///{ledger}"
    cli = [sys.executable, "-m", "otel_llmcost.cli"]
    simulator = [*cli, "simulator", "--port", "0", "--config", str(_data("simulator.yaml"))]
    collector = [
        *cli, "collector", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0",
        "--listen", "127.0.0.1:0", "--ledger", ledger_url, "--budgets", str(budgets),
    ]  # fmt: skip
    with (
        _process(simulator, cwd=workdir, ready="listening on") as sim_line,
        _process(collector, cwd=workdir, ready="ready") as collector_line,
    ):
        sim_url = sim_line.rsplit(" ", 1)[-1]
        addresses = _fields(collector_line)
        env = {
            **os.environ,
            "SIM_URL": sim_url,
            "OTEL_SERVICE_NAME": "bookshop-assistant",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=demo",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{addresses['otlp_http']}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        instrument = BIN / "opentelemetry-instrument"
        try:
            app = subprocess.run(
                [str(instrument), sys.executable, "-m", "otel_llmcost.demo.app"],
                cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        except OSError as err:
            raise RuntimeError(f"cannot run {instrument.name}: {_reason(err)}") from None
        except subprocess.TimeoutExpired:
            raise RuntimeError("the demo app did not finish within 300 s") from None
        if app.returncode != 0:
            raise RuntimeError(f"the demo app failed: {app.stderr.strip()[-1500:]}")
        listen = addresses["listen"]
    return DemoRun(
        ledger_url=ledger_url,
        budgets_file=budgets,
        metrics_url=f"http://{listen}/metrics",
        api_url=f"http://{listen}",
        app_stderr=app.stderr,
    )
