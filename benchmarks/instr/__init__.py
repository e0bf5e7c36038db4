"""Support for ``benchmarks/bench_instrumentation.py``: the per-venv worker and the venv builder."""
