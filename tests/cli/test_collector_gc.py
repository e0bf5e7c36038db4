"""The collector process tunes CPython's cyclic garbage collector (in a child: it is process-wide)."""

from __future__ import annotations

import subprocess
import sys


def test_the_collector_process_freezes_its_startup_heap_and_collects_less_often() -> None:
    code = (
        "import gc\n"
        "from otel_llmcost.cli.collector import GC_THRESHOLD, _tune_gc\n"
        "before = gc.get_threshold()[0]\n"
        "_tune_gc()\n"
        "print(before < GC_THRESHOLD == gc.get_threshold()[0], gc.get_freeze_count() > 1000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]
