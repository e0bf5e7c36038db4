"""scripts/refresh_catalog.py: effective dating across refreshes, and --check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.catalog_helpers import (
    EMPTY_SUPPLEMENT,
    chat,
    refresh,
    run,
)

# ------------------------------------------------------------------ effective dating


def test_refresh_appends_changed_price_and_keeps_history_and_vanished_models(tmp_path: Path) -> None:
    first = {"a": chat(1e-06, 2e-06), "b": chat(3e-06, 4e-06), "gone": chat(5e-06, 6e-06)}
    run(tmp_path, first, date="2026-01-01")
    second = {"a": chat(1.5e-06, 2e-06), "b": chat(3e-06, 4e-06), "new": chat(7e-06, 8e-06)}
    code, catalog = run(tmp_path, second, date="2026-02-01")
    assert code == 0
    models = catalog["models"]
    assert [(p["effective_from"], p["usd_per_mtok"]) for p in models["openai/a"]["prices"]] == [
        ("1970-01-01", {"input": "1", "output": "2"}),
        ("2026-02-01", {"input": "1.5", "output": "2"}),
    ]
    assert [p["effective_from"] for p in models["openai/b"]["prices"]] == ["1970-01-01"]
    assert models["openai/gone"]["prices"] == [
        {
            "effective_from": "1970-01-01",
            "usd_per_mtok": {"input": "5", "output": "6"},
            "tiers": {},
            "long_context": [],
            "per_request": {},
        }
    ]
    assert [p["effective_from"] for p in models["openai/new"]["prices"]] == ["1970-01-01"]
    assert catalog["version"].startswith("2026.02.01-")


def test_unchanged_refresh_rewrites_nothing(tmp_path: Path) -> None:
    source = {"a": chat(1e-06, 2e-06)}
    run(tmp_path, source, date="2026-01-01")
    before = (tmp_path / "catalog.json").read_text()
    run(tmp_path, source, date="2026-03-01")
    assert (tmp_path / "catalog.json").read_text() == before


def test_float_noise_in_an_older_catalog_is_not_a_price_change(tmp_path: Path) -> None:
    # An older conversion wrote 1.5000020000000002e-05 per token as 15.000020000000002 per 1M;
    # today it reads 15.00002: the same price, rewritten in place, no period added.
    run(tmp_path, {"a": chat(3e-06, 4e-06)}, date="2026-01-01")
    path = tmp_path / "catalog.json"
    path.write_text(path.read_text().replace('"input": "3"', '"input": "15.000020000000002"'))
    code, catalog = run(tmp_path, {"a": chat(1.5000020000000002e-05, 4e-06)}, date="2026-02-01")
    assert code == 0
    assert catalog["models"]["openai/a"]["prices"] == [
        {
            "effective_from": "1970-01-01",
            "usd_per_mtok": {"input": "15.00002", "output": "4"},
            "tiers": {},
            "long_context": [],
            "per_request": {},
        }
    ]


def test_same_day_rerun_replaces_that_days_period(tmp_path: Path) -> None:
    run(tmp_path, {"a": chat(1e-06, 2e-06)}, date="2026-01-01")
    run(tmp_path, {"a": chat(2e-06, 2e-06)}, date="2026-02-01")
    _, catalog = run(tmp_path, {"a": chat(3e-06, 2e-06)}, date="2026-02-01")
    periods = catalog["models"]["openai/a"]["prices"]
    assert [(p["effective_from"], p["usd_per_mtok"]["input"]) for p in periods] == [
        ("1970-01-01", "1"),
        ("2026-02-01", "3"),
    ]


def test_effective_date_before_the_last_period_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, {"a": chat(1e-06, 2e-06)}, date="2026-01-01")
    run(tmp_path, {"a": chat(2e-06, 2e-06)}, date="2026-02-01")
    code, _ = run(tmp_path, {"a": chat(3e-06, 2e-06)}, date="2026-01-15")
    assert code == 2
    assert "before the last period 2026-02-01" in capsys.readouterr().err


HISTORY_SUPPLEMENT = """
format: 1
models:
  deepseek/deepseek-chat:
    source: https://example.test/pricing
    patch: true
    history:
      - effective_from: 1970-01-01
        usd_per_mtok: {input: "0.27", output: "1.10", cache_read: "0.07"}
    current_from: 2025-09-05
"""


def test_supplement_history_dates_the_source_price(tmp_path: Path) -> None:
    source = {
        "deepseek/deepseek-chat": chat(2.8e-07, 4.2e-07, "deepseek", cache_read_input_token_cost=2.8e-08)
    }
    _, catalog = run(tmp_path, source, HISTORY_SUPPLEMENT, date="2026-01-01")
    periods = catalog["models"]["deepseek/deepseek-chat"]["prices"]
    assert [(p["effective_from"], p["usd_per_mtok"]) for p in periods] == [
        ("1970-01-01", {"input": "0.27", "output": "1.1", "cache_read": "0.07"}),
        ("2025-09-05", {"input": "0.28", "output": "0.42", "cache_read": "0.028"}),
    ]
    # A later price change is appended on the refresh date; the supplement's dates stay put.
    changed = {
        "deepseek/deepseek-chat": chat(3e-07, 4.2e-07, "deepseek", cache_read_input_token_cost=2.8e-08)
    }
    _, catalog = run(tmp_path, changed, HISTORY_SUPPLEMENT, date="2026-06-01")
    periods = catalog["models"]["deepseek/deepseek-chat"]["prices"]
    assert [(p["effective_from"], p["usd_per_mtok"]["input"]) for p in periods] == [
        ("1970-01-01", "0.27"),
        ("2025-09-05", "0.28"),
        ("2026-06-01", "0.3"),
    ]


# ------------------------------------------------------------------ --check


def test_check_detects_stale_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = {"a": chat(1e-06, 2e-06)}
    run(tmp_path, source, date="2026-01-01")
    committed = (tmp_path / "catalog.json").read_text()
    assert run(tmp_path, source, EMPTY_SUPPLEMENT, "--check", date="2026-05-01")[0] == 0
    assert "up to date" in capsys.readouterr().out

    code, _ = run(tmp_path, {"a": chat(1e-06, 3e-06)}, EMPTY_SUPPLEMENT, "--check", date="2026-05-01")
    assert code == 1
    assert "prices differ" in capsys.readouterr().err
    assert (tmp_path / "catalog.json").read_text() == committed  # --check writes nothing

    edited = "# a comment\n" + EMPTY_SUPPLEMENT
    assert run(tmp_path, source, edited, "--check", date="2026-05-01")[0] == 1
    assert "supplement file differs" in capsys.readouterr().err


def test_check_detects_hand_edited_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = {"a": chat(1e-06, 2e-06)}
    run(tmp_path, source)
    path = tmp_path / "catalog.json"
    path.write_text(path.read_text().replace('"input": "1"', '"input": "0.5"'))
    assert run(tmp_path, source, EMPTY_SUPPLEMENT, "--check")[0] == 1
    assert "do not match their content_sha256" in capsys.readouterr().err


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        refresh.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--source", "--previous", "--effective-date", "--output", "--check", "--supplement"):
        assert option in out
