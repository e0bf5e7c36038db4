"""Switching an instrumentation off and on inside one process (paired measurements)."""

from __future__ import annotations

import enum
import sys
from typing import Any

# --- switching an instrumentation off and on inside one process ------------------------------------
# Between processes this 2-core machine's noise (other jobs) is as large as the overheads being
# measured. So each process also measures itself uninstrumented: the worker snapshots the
# attributes of the modules instrumentations patch, instruments, snapshots again, and from then on
# switches between the two states for alternating blocks of calls. "on - off" per block pair is
# then paired against the same machine state, whatever the other jobs do.

#: Modules whose classes and functions the instrumentations patch (ours: also httpx2's send).
PATCHED_MODULES = ("openai", "httpx2", "httpx", "httpcore2")
#: Data models only (most of openai's 2,000 modules): nothing patches them, and scanning them is slow.
_DATA_MODULES = ("openai.types.",)
#: Attributes that change by themselves (pydantic and abc caches), not by instrumenting.
_VOLATILE = ("__pydantic", "_abc_", "__abstractmethods__", "__dict__", "__weakref__")
_UNSET = object()
Snapshot = dict[tuple[int, str], tuple[Any, str, Any]]


def snapshot() -> Snapshot:
    """Every attribute of the patched modules and of the classes they define."""
    points: Snapshot = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(PATCHED_MODULES) or name.startswith(_DATA_MODULES):
            continue
        for attr, value in list(vars(module).items()):
            points[id(module), attr] = (module, attr, value)
            # type(value), not isinstance(): the SDK's lazy proxies load their target when asked
            # for __class__, and loading all of openai takes seconds.
            if issubclass(type(value), type) and value.__module__ == name:
                for cattr, cvalue in list(vars(value).items()):
                    points[id(value), cattr] = (value, cattr, cvalue)
    return points


def stable_snapshot() -> Snapshot:
    """A snapshot taken again until nothing new appears: reading some modules' attributes loads
    lazily imported submodules, which a later snapshot would otherwise see as changes."""
    points = snapshot()
    for _ in range(5):
        again = snapshot()
        if again.keys() == points.keys():
            return again
        points = again
    return points


class Switch:
    """The attributes an instrumentation replaced, with their values before and after.

    Attributes that did not exist before are left alone: none of the implementations patches
    by adding one, and lazily loaded modules add many.
    """

    def __init__(self, before: Snapshot, after: Snapshot) -> None:
        self.changes: list[tuple[Any, str, Any, Any]] = []
        for key, (owner, attr, value) in after.items():
            old = before[key][2] if key in before else _UNSET
            if old is _UNSET or old is value or attr.startswith(_VOLATILE):
                continue
            if isinstance(owner, type) and issubclass(owner, enum.Enum):
                continue  # members are stable; enum's own bookkeeping is not ours to replay
            self.changes.append((owner, attr, old, value))
        self.on = True

    def names(self) -> list[str]:
        return sorted(
            f"{getattr(o, '__qualname__', getattr(o, '__name__', '?'))}.{a}" for o, a, _, _ in self.changes
        )

    def set(self, on: bool) -> None:
        for owner, attr, old, new in self.changes:
            value = new if on else old
            if value is _UNSET:
                delattr(owner, attr)
            else:
                setattr(owner, attr, value)
        self.on = on
