"""Output into a pipe that is closed (``otel-llmcost export | head -1``): the command ends as SIGPIPE
ends coreutils — nothing on stderr, exit status 141 (128 + SIGPIPE) for ``set -o pipefail`` — and a
reader that takes everything still sees exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from otel_llmcost.ledger import open_ledger
from tests.ledger.support import make_record

CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as backend:
        backend.insert([make_record(i, team=f"team-{i % 7}", cost_nanos=1000 * i) for i in range(1, 2001)])
    return url


def _into_a_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with stdout a pipe whose reading end is already closed: its first write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLMCOST_")}
    try:
        return subprocess.run(
            [*CLI, *args], stdout=write_end, stderr=subprocess.PIPE, cwd=cwd, env=env, timeout=60, check=False
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["export"],
        ["export", "--format", "csv"],
        ["report", "--by", "team"],
        ["report", "--chargeback", "team"],
        ["report", "--json"],
        ["insights", "--since", "2025-03-01", "--until", "2025-04-01"],
        ["forecast", "--as-of", "2025-03-20"],
    ],
)
def test_a_closed_pipe_ends_the_command_quietly_with_status_141(
    ledger: str, tmp_path: Path, args: list[str]
) -> None:
    result = _into_a_closed_pipe(*args, "--ledger", ledger, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (141, b"")


def test_prices_too(tmp_path: Path) -> None:
    result = _into_a_closed_pipe("prices", "list", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (141, b"")


def test_a_reader_that_stops_early_gets_its_lines_and_the_writer_141(ledger: str, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CLI, "export", "--ledger", ledger], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # as `head -1` exits
    assert process.wait(timeout=60) == 141
    assert first.startswith(b'{"trace_id":"00000000000000000000000000000001"')
    assert process.stderr.read() == b""
    process.stderr.close()
