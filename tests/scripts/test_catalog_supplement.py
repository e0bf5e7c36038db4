"""scripts/catalog_supplement.yaml: curated entries, patches, aliases, scaled tiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.catalog_helpers import (
    chat,
    run,
)

# ------------------------------------------------------------------ supplement

SUPPLEMENT_NEW = """
format: 1
models:
  anthropic/claude-test-20250101:
    source: https://example.test/pricing
    mode: chat
    aliases: [claude-test, claude-test-latest]
    max_input_tokens: 200000
    prices:
      usd_per_mtok: {input: "3", output: "15", cache_read: "0.30", cache_write_5m: "3.75", cache_write_1h: "6"}
      tiers:
        batch: {scale: "0.5", cache_write_1h: "2"}
      long_context:
        - threshold: 200000
          usd_per_mtok: {input: "6", output: "22.50"}
          tiers:
            batch: {scale: "0.5"}
      per_request: {web_search: "0.010"}
"""


def test_supplement_adds_entry_with_aliases_and_scaled_tiers(tmp_path: Path) -> None:
    code, catalog = run(tmp_path, {}, SUPPLEMENT_NEW)
    assert code == 0
    assert catalog["models"] == {
        "anthropic/claude-test-20250101": {
            "provider": "anthropic",
            "model": "claude-test-20250101",
            "mode": "chat",
            "aliases": ["claude-test", "claude-test-latest"],
            "origin": "supplement",
            "max_input_tokens": 200000,
            "prices": [
                {
                    "effective_from": "1970-01-01",
                    "usd_per_mtok": {
                        "input": "3",
                        "output": "15",
                        "cache_read": "0.3",
                        "cache_write_5m": "3.75",
                        "cache_write_1h": "6",
                    },
                    "tiers": {
                        "batch": {
                            "input": "1.5",
                            "output": "7.5",
                            "cache_read": "0.15",
                            "cache_write_5m": "1.875",
                            "cache_write_1h": "2",
                        }
                    },
                    "long_context": [
                        {
                            "threshold": 200000,
                            "inclusive": False,
                            "usd_per_mtok": {"input": "6", "output": "22.5"},
                            "tiers": {"batch": {"input": "3", "output": "11.25"}},
                        }
                    ],
                    "per_request": {"web_search": "0.01"},
                }
            ],
        }
    }


def test_supplement_patch_overrides_only_what_it_names(tmp_path: Path) -> None:
    source = {
        "claude-sonnet-x": chat(
            3e-06,
            1.5e-05,
            "anthropic",
            cache_read_input_token_cost=3e-07,
            input_cost_per_token_batches=1.5e-06,
            output_cost_per_token_batches=7.5e-06,
            max_input_tokens=200000,
        )
    }
    supplement = """
format: 1
models:
  anthropic/claude-sonnet-x:
    source: https://example.test/pricing
    patch: true
    aliases: [claude-sonnet-x-latest]
    max_input_tokens: 1000000
    prices:
      tiers:
        batch: {cache_read: "0.15"}
      long_context:
        - threshold: 200000
          usd_per_mtok: {input: "6", output: "22.5", cache_read: "0.6"}
"""
    code, catalog = run(tmp_path, source, supplement)
    assert code == 0
    entry = catalog["models"]["anthropic/claude-sonnet-x"]
    assert entry["origin"] == "litellm+supplement"
    assert entry["aliases"] == ["claude-sonnet-x-latest"]
    assert entry["max_input_tokens"] == 1000000
    assert entry["prices"] == [
        {
            "effective_from": "1970-01-01",
            "usd_per_mtok": {"input": "3", "output": "15", "cache_read": "0.3"},
            "tiers": {"batch": {"input": "1.5", "output": "7.5", "cache_read": "0.15"}},
            "long_context": [
                {
                    "threshold": 200000,
                    "inclusive": False,
                    "usd_per_mtok": {"input": "6", "output": "22.5", "cache_read": "0.6"},
                    "tiers": {},
                }
            ],
            "per_request": {},
        }
    ]


def test_patch_of_a_missing_source_entry_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    supplement = """
format: 1
models:
  openai/gone:
    source: https://example.test
    patch: true
    prices: {usd_per_mtok: {input: "1"}}
"""
    code, catalog = run(tmp_path, {"gpt-x": chat(1e-06, 2e-06)}, supplement)
    assert code == 0
    assert list(catalog["models"]) == ["openai/gpt-x"]
    assert "patch target openai/gone is not in the source" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("supplement", "message"),
    [
        (
            "format: 1\nmodels:\n  openai/x:\n    source: s\n    mode: chat\n    prices: {usd_per_mtok: {input: 1.10}}\n",
            "openai/x.prices.usd_per_mtok.input: prices are quoted strings",
        ),
        (
            'format: 1\nmodels:\n  openai/x:\n    mode: chat\n    prices: {usd_per_mtok: {input: "1"}}\n',
            "openai/x.source",
        ),
        (
            'format: 1\nmodels:\n  openai/x:\n    source: s\n    mode: chat\n    prices: {usd_per_mtok: {inptu: "1"}}\n',
            "unknown key(s) ['inptu']",
        ),
        (
            "format: 1\nmodels:\n  openai/x:\n    source: s\n    mode: chat\n    aliases: [gpt-x]\n"
            '    prices: {usd_per_mtok: {input: "1"}}\n',
            "alias openai/gpt-x of openai/x already names openai/gpt-x",
        ),
        (
            "format: 1\nmodels:\n  openai/gpt-x:\n    source: s\n    patch: true\n"
            '    history: [{effective_from: "2024-01-01", usd_per_mtok: {input: "9"}}]\n',
            "current_from: required with history",
        ),
        ("format: 1\nmodels:\n  OpenAI/X:\n    source: s\n", "keys are lowercase"),
    ],
)
def test_bad_supplement_is_rejected_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], supplement: str, message: str
) -> None:
    code, _ = run(tmp_path, {"gpt-x": chat(1e-06, 2e-06)}, supplement)
    assert code == 2
    assert message in capsys.readouterr().err
