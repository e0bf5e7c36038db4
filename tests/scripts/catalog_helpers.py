"""Shared fixtures for the catalog-script tests: import the scripts, run the CLI in-process."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
CATALOG = REPO / "otel_llmcost" / "pricing" / "data" / "catalog.json"
SUPPLEMENT = SCRIPTS / "catalog_supplement.yaml"

# The scripts directory is not a package; the script itself imports its helpers as top-level modules.
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
refresh = importlib.import_module("refresh_catalog")
convert = importlib.import_module("_catalog_convert")

EMPTY_SUPPLEMENT = "format: 1\nmodels: {}\n"
PLAIN_DECIMAL = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")


def chat(input_cost: float, output_cost: float, provider: str = "openai", **extra: Any) -> dict[str, Any]:
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": input_cost,
        "output_cost_per_token": output_cost,
        **extra,
    }


def run(
    tmp_path: Path,
    source: dict[str, Any],
    supplement: str = EMPTY_SUPPLEMENT,
    *extra: str,
    date: str = "2026-01-01",
) -> tuple[int, dict[str, Any]]:
    """Run the CLI in-process on crafted inputs; return the exit code and the catalog written."""
    source_path = tmp_path / "prices.json"
    source_path.write_text(json.dumps(source))
    supplement_path = tmp_path / "supplement.yaml"
    supplement_path.write_text(supplement)
    output = tmp_path / "catalog.json"
    argv = ["--source", str(source_path), "--source-version", "9.9.9", "--supplement", str(supplement_path)]
    code = refresh.main([*argv, "--output", str(output), "--effective-date", date, *extra])
    return code, json.loads(output.read_text()) if output.exists() else {}
