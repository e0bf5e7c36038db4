"""Put a rendered ConfigMap and container env where the real collector loaders can read them.

The chart's files mount at /etc/otel-llmcost (and TLS at /etc/otel-llmcost-tls); here they are
written to a temporary directory and the paths in config.yaml point there, so
``otel_llmcost.collector.load_config`` checks exactly what a pod would start with.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otel_llmcost.collector import CollectorConfig, load_config

CONFIG_DIR, TLS_DIR = "/etc/otel-llmcost", "/etc/otel-llmcost-tls"


def write_config_map(config_map: Mapping[str, Any], directory: Path) -> Path:
    """The ConfigMap's files in ``directory`` (mount paths rewritten); returns config.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in config_map["data"].items():
        text = text.replace(f"{TLS_DIR}/", f"{directory / 'tls'}/").replace(f"{CONFIG_DIR}/", f"{directory}/")
        (directory / name).write_text(text, encoding="utf-8")
    return directory / "config.yaml"


def container_env(container: Mapping[str, Any], secrets: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """The OTEL_LLMCOST_* environment of a container, Secrets resolved from ``secrets``."""
    env: dict[str, str] = {}
    for item in container["env"]:
        if not item["name"].startswith("OTEL_LLMCOST_"):
            continue
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"], ref["key"]]
    return env


def self_signed(directory: Path) -> None:
    """tls.crt and tls.key in ``directory``, as a kubernetes.io/tls Secret mounts them."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl = shutil.which("openssl")
    if openssl is None:
        from tests.collector.conftest import _self_signed_with_cryptography

        _self_signed_with_cryptography(directory / "tls.crt", directory / "tls.key")
        return
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(directory / "tls.key"),
         "-out", str(directory / "tls.crt"), "-days", "2", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip


def load_rendered(
    config_map: Mapping[str, Any],
    container: Mapping[str, Any],
    directory: Path,
    secrets: Mapping[tuple[str, str], str] | None = None,
) -> CollectorConfig:
    """What the collector would load in the pod: its config.yaml, then its OTEL_LLMCOST_* env."""
    config = write_config_map(config_map, directory)
    if TLS_DIR in config_map["data"]["config.yaml"]:
        self_signed(directory / "tls")
    return load_config(config, env=container_env(container, secrets or {}))
