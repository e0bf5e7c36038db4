"""Build the virtualenvs the instrumentation benchmark runs in: ``benchmarks/.venvs/<name>``.

One venv per implementation, so each peer gets exactly the packages it needs and none of
the others' (their wrappers would otherwise all patch the same openai methods):

    baseline     openai 3.x + the OpenTelemetry SDK, no instrumentation
    ours         the same + this repository (pip install -e, no deps)
    openai_v2    the same + opentelemetry-instrumentation-openai-v2 (the official one)
    openllmetry  the same + opentelemetry-instrumentation-openai (OpenLLMetry)
    openlit      the same + openlit (installed --no-deps: it declares openai<3)

Each ``requirements-<name>.txt`` beside this file pins the venv's whole closure and is installed
with ``--no-deps``, so every venv runs the very same openai / httpx2 / opentelemetry-sdk builds and
a rebuild gets the same bytes. A venv whose stamp (a hash of its pins, the interpreter, and for
``ours`` the project's pyproject.toml) matches is left alone; a stale one is rebuilt from scratch.
Only the package registries are used.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENVS = HERE.parent / ".venvs"
NAMES = ("baseline", "ours", "openai_v2", "openllmetry", "openlit")
STAMP = ".bench-stamp"
#: Bump to force every venv to be rebuilt when the build steps below change.
BUILD_VERSION = "1"
#: What each venv must import once built: a venv that installs but cannot import is a failed build.
IMPORT_CHECKS: dict[str, str] = {
    "baseline": "import openai, httpx2, opentelemetry.sdk.trace",
    "ours": "import openai, httpx2, opentelemetry.sdk.trace, otel_llmcost.instrumentation",
    "openai_v2": "import openai, httpx2, opentelemetry.sdk.trace, opentelemetry.instrumentation.openai_v2",
    "openllmetry": "import openai, httpx2, opentelemetry.sdk.trace, opentelemetry.instrumentation.openai",
    "openlit": "import openai, httpx2, opentelemetry.sdk.trace, openlit",
}
#: openlit's metadata says openai<3, so `pip check` is expected to complain there; the import check
#: (and the benchmark's own smoke run) is what tells whether it works.
PIP_CHECK_SKIPPED = frozenset({"openlit"})


@dataclass(frozen=True)
class Built:
    name: str
    python: Path | None
    """The venv's interpreter, or None when the build failed."""
    status: str
    """``built``, ``up to date`` or ``failed: <why>``."""

    @property
    def ok(self) -> bool:
        return self.python is not None


def requirements(name: str) -> Path:
    return HERE / f"requirements-{name}.txt"


def venv_python(name: str, root: Path = VENVS) -> Path:
    return root / name / "bin" / "python"


def stamp_of(name: str, interpreter: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{BUILD_VERSION}\n{interpreter}\n{sys.version}\n".encode())
    digest.update(requirements(name).read_bytes())
    if name == "ours":
        # The editable install follows the source by itself; its metadata follows pyproject.toml.
        digest.update((REPO / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def _run(cmd: Sequence[str], log: list[str], timeout: float) -> None:
    log.append("$ " + " ".join(str(c) for c in cmd))
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False)
    log.append(done.stdout[-4000:] + done.stderr[-4000:])
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{Path(cmd[0]).name} {cmd[1] if len(cmd) > 1 else ''} failed: {' | '.join(tail)}")


def build(name: str, *, interpreter: str = sys.executable, root: Path = VENVS, force: bool = False) -> Built:
    """Build (or keep) one venv. Never raises for a failed build: the result says why."""
    if name not in NAMES:
        return Built(name, None, f"failed: unknown venv {name!r} (known: {', '.join(NAMES)})")
    target = root / name
    python = venv_python(name, root)
    stamp = stamp_of(name, interpreter)
    stamp_file = target / STAMP
    if not force and python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return Built(name, python, "up to date")
    log: list[str] = []
    try:
        if target.exists():
            shutil.rmtree(target)
        root.mkdir(parents=True, exist_ok=True)
        _run([interpreter, "-m", "venv", str(target)], log, timeout=300)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-deps"]
        _run([*pip, "-r", str(requirements(name))], log, timeout=1200)
        if name == "ours":
            _run([*pip, "-e", str(REPO)], log, timeout=600)
        if name not in PIP_CHECK_SKIPPED:
            _run([str(python), "-m", "pip", "--disable-pip-version-check", "check"], log, timeout=120)
        _run([str(python), "-c", IMPORT_CHECKS[name]], log, timeout=120)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as err:
        (root / f"{name}.build.log").write_text("\n".join(log) + f"\n{err}\n")
        return Built(name, None, f"failed: {err} (log: {root / f'{name}.build.log'})")
    stamp_file.write_text(stamp + "\n")
    return Built(name, python, "built")


def build_all(
    names: Sequence[str] = NAMES,
    *,
    interpreter: str = sys.executable,
    root: Path = VENVS,
    force: bool = False,
    jobs: int = 2,
) -> dict[str, Built]:
    """Build every venv in ``names``; pip is mostly waiting on the registry, so two at a time."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {n: pool.submit(build, n, interpreter=interpreter, root=root, force=force) for n in names}
        return {n: f.result() for n, f in futures.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"Venvs to build: {', '.join(NAMES)} (default: all)."
    )
    parser.add_argument("--force", action="store_true", help="Rebuild even when the stamp matches.")
    parser.add_argument(
        "--python", default=sys.executable, help="Interpreter to create the venvs from (default: this one)."
    )
    parser.add_argument("--root", type=Path, default=VENVS, help=f"Where the venvs go (default: {VENVS}).")
    parser.add_argument("--jobs", type=int, default=2, help="Venvs built at once (default 2).")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown venv(s): {', '.join(unknown)}")
    results = build_all(
        args.names or NAMES, interpreter=args.python, root=args.root, force=args.force, jobs=args.jobs
    )
    for built in results.values():
        print(f"{built.name:12} {built.status}")
    return 0 if all(b.ok for b in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
