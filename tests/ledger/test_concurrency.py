"""Several writers with overlapping keys end with exactly the union; readers run alongside."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from otel_llmcost.ledger import LedgerBackend, Totals, open_ledger
from tests.ledger.support import make_record

WRITERS = 4
SPAN = 120  # writer w inserts keys [60w, 60w + 120): each overlaps its neighbours by 60
UNION = 60 * (WRITERS - 1) + SPAN


def _run(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def wrap(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


@pytest.mark.parametrize("sharing", ["one backend", "a backend per thread"])
def test_overlapping_writers_store_the_union(url: str, sharing: str) -> None:
    shared = open_ledger(url)
    backends = [shared if sharing == "one backend" else open_ledger(url) for _ in range(WRITERS)]
    new_rows = [0] * WRITERS
    stop = threading.Event()
    reads: list[Totals] = []

    def writer(w: int) -> Callable[[], None]:
        def work() -> None:
            keys = list(range(60 * w, 60 * w + SPAN))
            for start in range(0, SPAN, 16):  # small batches interleave the writers
                batch = [make_record(k, cost_nanos=k + 1) for k in keys[start : start + 16]]
                new_rows[w] += backends[w].insert(batch)

        return work

    def reader() -> None:
        while not stop.is_set():
            reads.append(shared.totals())
            shared.group(["team"])

    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    try:
        errors = _run([writer(w) for w in range(WRITERS)])
    finally:
        stop.set()
        reader_thread.join()
    assert errors == []
    assert sum(new_rows) == UNION  # every key counted new exactly once, by whichever writer won
    assert shared.count() == UNION
    assert shared.totals().cost_nanos == sum(range(1, UNION + 1))
    assert [r.requests for r in reads] == sorted(r.requests for r in reads)  # readers never go back
    assert all(r.requests <= UNION for r in reads)
    for backend in {id(b): b for b in backends}.values():
        backend.close()


def test_many_reader_threads(ledger: LedgerBackend) -> None:
    ledger.insert([make_record(i, cost_nanos=i, team=f"t{i % 3}") for i in range(100)])
    expected = ledger.group(["team"])
    results: list[object] = []

    def read() -> None:
        for _ in range(5):
            results.append(ledger.group(["team"]))
            results.append(ledger.totals().cost_nanos)

    assert _run([read] * 8) == []
    total = sum(range(100))
    assert len(results) == 80
    assert results.count(expected) == 40
    assert results.count(total) == 40
