#!/usr/bin/env python3
"""Regenerate otel_llmcost/pricing/data/catalog.json (format: docs/pricing-catalog.md).

Inputs: LiteLLM's model_prices_and_context_window.json (``--source``, or the pinned litellm
wheel fetched with pip) and scripts/catalog_supplement.yaml. Prices already in the committed
catalog are never rewritten: a changed price appends a period dated ``--effective-date``, and
models that vanished from the source stay.

    python scripts/refresh_catalog.py                        # fetch the pinned wheel, refresh
    python scripts/refresh_catalog.py --source prices.json   # use a local copy
    python scripts/refresh_catalog.py --check --source ...   # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _catalog_convert import convert_source, denoised
from _catalog_supplement import CatalogError, apply_supplement, check_aliases, load_supplement

LITELLM_VERSION = "1.106.2"
WHEEL_MEMBER = "litellm/model_prices_and_context_window_backup.json"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = REPO / "otel_llmcost" / "pricing" / "data" / "catalog.json"
DEFAULT_SUPPLEMENT = REPO / "scripts" / "catalog_supplement.yaml"
# A model's first known price also covers calls made before we first saw it: better a price we
# know than an unpriced call when old ledger rows are repriced.
FIRST_PERIOD = "1970-01-01"
FORMAT = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_sha256(models: dict[str, Any]) -> str:
    return _sha256(json.dumps(models, sort_keys=True, separators=(",", ":")).encode())


def fetch_source(version: str, workdir: Path) -> Path:
    """Download the litellm wheel (no dependencies) and extract its bundled price file."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"litellm=={version}",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "-d",
            str(workdir),
        ],
        check=True,
    )
    wheels = sorted(workdir.glob(f"litellm-{version}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download produced no litellm {version} wheel in {workdir}")
    target = workdir / Path(WHEEL_MEMBER).name
    with zipfile.ZipFile(wheels[0]) as wheel:
        target.write_bytes(wheel.read(WHEEL_MEMBER))
    return target


def detect_version(source: Path) -> str:
    """The litellm version of an installed package's price file (site-packages/litellm-X.dist-info)."""
    found = sorted(source.resolve().parent.parent.glob("litellm-*.dist-info/METADATA"))
    for metadata in found:
        for line in metadata.read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _date_key(period: dict[str, Any]) -> str:
    return str(period["effective_from"])


def _content(period: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in period.items() if k != "effective_from"}


def date_periods(
    previous: list[dict[str, Any]], draft: dict[str, Any], effective: str
) -> tuple[list[dict[str, Any]], bool]:
    """A model's periods after this refresh, and whether a period was added or replaced.

    Supplement ``history`` periods are authoritative for their dates (deliberate curation).
    The current price is appended when it differs from the last period: on ``current_from``
    when that is later than every known period (first sight, or history just added), else on
    the refresh date. A second refresh on the same date replaces that date's period.
    """
    by_date = {_date_key(p): p for p in previous}
    for period in draft["history"]:
        by_date[_date_key(period)] = period
    periods = [by_date[d] for d in sorted(by_date)]
    current = draft["period"]
    if periods and _content(periods[-1]) == current:
        return periods, periods != previous
    current_from = draft["current_from"]
    if not periods:
        when = current_from or FIRST_PERIOD
    elif current_from and current_from > _date_key(periods[-1]):
        when = current_from
    else:
        when = effective
    if periods and when < _date_key(periods[-1]):
        raise CatalogError(f"effective date {when} is before the last period {_date_key(periods[-1])}")
    if periods and when == _date_key(periods[-1]):
        periods.pop()
    return [*periods, {"effective_from": when, **current}], True


def _denoise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _denoise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_denoise(v) for v in value]
    return denoised(value) if isinstance(value, str) else value


def denoise_prices(models: dict[str, Any]) -> dict[str, Any]:
    """A previous catalog's models with the float noise taken off their price strings, as the
    conversion now reads floats: a price it wrote as 15.000020000000002 is the 15.00002 a
    refresh now finds, the same price, not a change to date."""
    return {key: {**entry, "prices": _denoise(entry.get("prices", []))} for key, entry in models.items()}


def build_models(
    drafts: dict[str, dict[str, Any]], previous: dict[str, Any], effective: str, stats: dict[str, list[str]]
) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for key, draft in drafts.items():
        old = previous.get(key)
        periods, changed = date_periods(old["prices"] if old else [], draft, effective)
        models[key] = {**draft["entry"], "prices": periods}
        stats["new" if old is None else "repriced" if changed else "unchanged"].append(key)
    for key in sorted(set(previous) - set(drafts)):
        models[key] = previous[key]  # LiteLLM dropped it; its past calls must still price
        stats["vanished"].append(key)
    return dict(sorted(models.items()))


def render(catalog: dict[str, Any]) -> str:
    """Stable text: header fields in spec order, then one model per line so diffs stay readable."""
    lines = ["{"]
    for name in ("format", "version", "generated", "source", "supplement", "content_sha256"):
        lines.append(f"{json.dumps(name)}: {json.dumps(catalog[name], sort_keys=True)},")
    lines.append('"models": {')
    rows = [f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in catalog["models"].items()]
    lines.append(",\n".join(rows))
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Regenerate the bundled pricing catalog from LiteLLM's price file and the supplement.",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="local model_prices_and_context_window JSON "
        f"(default: pip download litellm=={LITELLM_VERSION} and read {WHEEL_MEMBER})",
    )
    parser.add_argument(
        "--source-version",
        help="litellm version to record for --source "
        "(default: read from a sibling litellm-*.dist-info, else 'unknown')",
    )
    parser.add_argument(
        "--supplement", type=Path, default=DEFAULT_SUPPLEMENT, help="curated YAML (default: %(default)s)"
    )
    parser.add_argument("--previous", type=Path, help="catalog whose periods are kept (default: --output)")
    parser.add_argument(
        "--no-previous", action="store_true", help="build from scratch, ignoring any previous catalog"
    )
    parser.add_argument(
        "--effective-date",
        type=dt.date.fromisoformat,
        help="YYYY-MM-DD of changed prices (default: today, UTC)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_CATALOG, help="catalog to write (default: %(default)s)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if regenerating would change --output"
    )
    return parser.parse_args(argv)


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name


def generate(args: argparse.Namespace, source_path: Path, version: str) -> tuple[dict[str, Any], list[str]]:
    """The catalog that a refresh would write, and the summary lines to print."""
    effective = (args.effective_date or dt.datetime.now(dt.timezone.utc).date()).isoformat()
    source_bytes = source_path.read_bytes()
    supplement_bytes = args.supplement.read_bytes()
    previous_path = args.previous or args.output
    previous: dict[str, Any] = {}
    if not args.no_previous and previous_path.exists():
        previous = json.loads(previous_path.read_text())
    source = convert_source(json.loads(source_bytes))
    drafts, notes = apply_supplement(source.models, load_supplement(supplement_bytes, args.supplement.name))
    stats: dict[str, list[str]] = {"new": [], "repriced": [], "unchanged": [], "vanished": []}
    models = build_models(drafts, denoise_prices(previous.get("models", {})), effective, stats)
    check_aliases(models)
    digest = content_sha256(models)
    same = previous.get("content_sha256") == digest
    catalog = {
        "format": FORMAT,
        # An unchanged price set keeps its version, so a no-op refresh rewrites nothing.
        "version": previous["version"] if same else f"{effective.replace('-', '.')}-{digest[:8]}",
        "generated": previous["generated"] if same else effective,
        "source": {
            "name": "litellm",
            "package_version": version,
            "file": source_path.name,
            "sha256": _sha256(source_bytes),
        },
        "supplement": {"file": _relative(args.supplement), "sha256": _sha256(supplement_bytes)},
        "content_sha256": digest,
        "models": models,
    }
    summary = [f"source: litellm {version}, {len(source.models)} text-priced models kept"]
    summary.append("skipped: " + ", ".join(f"{why}={n}" for why, n in source.skipped.items()))
    summary.append(f"collisions: {len(source.collisions)} (kept the unprefixed key, else the smallest)")
    for key, kept, dropped, differ in source.collisions:
        summary.append(
            f"  {key} <- {kept} (dropped {', '.join(dropped)}){' PRICES DIFFER' if differ else ''}"
        )
    summary.append("unmapped price fields: " + ", ".join(f"{f}={n}" for f, n in source.unmapped.items()))
    summary += notes
    summary.append(", ".join(f"{name}={len(keys)}" for name, keys in stats.items()))
    summary += [f"  repriced: {key}" for key in stats["repriced"]]
    summary.append(f"catalog: {len(models)} models, version {catalog['version']}")
    return catalog, summary


def check(catalog: dict[str, Any], committed_path: Path) -> list[str]:
    """Why the committed catalog differs from a regeneration (empty when up to date)."""
    if not committed_path.exists():
        return [f"{committed_path} does not exist"]
    committed = json.loads(committed_path.read_text())
    problems = []
    if content_sha256(committed.get("models", {})) != committed.get("content_sha256"):
        problems.append("committed models do not match their content_sha256 (edited by hand?)")
    if committed.get("content_sha256") != catalog["content_sha256"]:
        problems.append("prices differ from a regeneration")
    for part in ("source", "supplement"):
        if committed.get(part, {}).get("sha256") != catalog[part]["sha256"]:
            problems.append(f"{part} file differs from the one recorded")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.source is None:
                source_path, version = fetch_source(LITELLM_VERSION, Path(tmp)), LITELLM_VERSION
            else:
                source_path, version = args.source, args.source_version or detect_version(args.source)
            catalog, summary = generate(args, source_path, version)
    except subprocess.CalledProcessError as error:
        print(f"error: fetching litellm failed: {error}", file=sys.stderr)
        return 1
    except (CatalogError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(summary))
    if args.check:
        problems = check(catalog, args.output)
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        print(
            "catalog is up to date"
            if not problems
            else f"{args.output} is stale: run scripts/refresh_catalog.py"
        )
        return 1 if problems else 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = render(catalog)
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
