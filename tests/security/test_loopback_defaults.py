"""Out of the box nothing listens beyond the host: receivers and API bind 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from otel_llmcost.collector import CollectorConfig, load_config
from otel_llmcost.collector._config_values import Address
from tests.reliability.support import CLI, READY, clean_env

REPO = Path(__file__).parent.parent.parent
DEFAULTS = {"otlp_grpc": Address("127.0.0.1", 4317), "otlp_http": Address("127.0.0.1", 4318),
            "listen": Address("127.0.0.1", 9464)}  # fmt: skip


def addresses(config: CollectorConfig) -> dict[str, Address | None]:
    return {"otlp_grpc": config.otlp_grpc, "otlp_http": config.otlp_http, "listen": config.listen}


def test_the_default_configuration_binds_loopback_only() -> None:
    assert addresses(CollectorConfig()) == DEFAULTS
    assert addresses(load_config(None, env={})) == DEFAULTS  # no file, no variables, no flags
    assert addresses(load_config(REPO / "collector" / "config.yaml", env={})) == DEFAULTS
    assert CollectorConfig().bearer_token is None and CollectorConfig().tls is None


def _private_network() -> list[str] | None:
    """A command prefix running its command in a new network namespace with only loopback up, so
    the collector can bind its real default ports whatever else runs here; None when this
    machine cannot make one (not root, no unshare)."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        return None
    probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:
        return None
    return [unshare, "-n", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]


def _default_ports_free() -> bool:
    for port in (4317, 4318, 9464):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


@pytest.fixture
def started_with_only_a_ledger(tmp_path: Path) -> Iterator[tuple[str, psutil.Process]]:
    prefix = _private_network()
    if prefix is None and not _default_ports_free():
        pytest.skip("no private network namespace here and the default ports 4317/4318/9464 are taken")
    command = [*(prefix or []), *CLI, "collector", "--ledger", f"sqlite:///{tmp_path / 'ledger.db'}"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=clean_env()
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # every port is bound once this line is out
    try:
        assert line.startswith(READY), (line, process.stderr.read() if process.poll() is not None else "")
        yield line, psutil.Process(process.pid)  # exec'd by unshare and sh: the collector itself
    finally:
        process.terminate()
        process.wait(30)
        process.communicate()


def test_the_collector_started_with_only_a_ledger_listens_on_loopback_only(
    started_with_only_a_ledger: tuple[str, psutil.Process],
) -> None:
    line, process = started_with_only_a_ledger
    assert "otlp_grpc=127.0.0.1:4317 otlp_http=127.0.0.1:4318 listen=127.0.0.1:9464" in line
    assert listening(process.pid) == {("127.0.0.1", 4317), ("127.0.0.1", 4318), ("127.0.0.1", 9464)}


def listening(pid: int) -> set[tuple[str, int]]:
    """The TCP sockets ``pid`` listens on, read from ``/proc/PID/net`` (psutil reads the caller's
    network namespace, not the process's)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                # /proc prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                ip = ipaddress.ip_address(socket.inet_ntop(family, raw))
                # grpc binds a dual-stack socket to ::ffff:127.0.0.1: loopback all the same
                mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
                found.add((str(mapped or ip), int(port, 16)))
    return found
