"""Real processes for the fault-injection tests: the ``otel-llmcost collector`` command (killed,
restarted on the same ports and ledger) and the worker scripts next to this module."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from otel_llmcost.collector._config_values import Address

CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]
HERE = Path(__file__).parent
READY = "otel-llmcost collector ready "


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any OTEL_* setting that would change what a child does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent.parent), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env.update(extra)
    return env


class CollectorProcess:
    """``otel-llmcost collector`` as a child process; :meth:`start` returns once every port is
    bound (it reads the ready line), so nothing here waits by sleeping."""

    def __init__(self, ledger: str, *, cwd: Path, args: Sequence[str] = ()) -> None:
        self.ledger = ledger
        self.cwd = cwd
        self.args = list(args)
        self.process: subprocess.Popen[str] | None = None
        self.grpc = self.http = self.listen = Address("127.0.0.1", 0)

    def start(self) -> CollectorProcess:
        """Start on the ports of the previous run (free ones the first time)."""
        command = [
            *CLI, "collector", "--ledger", self.ledger, "--otlp-grpc", str(self.grpc),
            "--otlp-http", str(self.http), "--listen", str(self.listen), *self.args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.cwd, env=clean_env()
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(READY):
            self.process.kill()
            pytest.fail(f"the collector did not start: {line!r} {self.process.communicate()[1][-3000:]}")
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        self.grpc = Address.parse(fields["otlp_grpc"])
        self.http = Address.parse(fields["otlp_http"])
        self.listen = Address.parse(fields["listen"])
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever was in flight is cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and the exit code (0: a clean shutdown)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.process.communicate()
        return code


def run_worker(name: str, *args: str) -> subprocess.Popen[str]:
    """``python tests/reliability/<name>.py args…`` with stdout piped (one JSON line per event)."""
    return subprocess.Popen(
        [sys.executable, str(HERE / f"{name}.py"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
