"""Reading a YAML file a user wrote (collector config, budget policy, price overrides), refusing
everything wrong with it as one :class:`ConfigError` line that names the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from otel_llmcost.exceptions import ConfigError

__all__ = ["read_yaml"]


def read_yaml(path: str | os.PathLike[str]) -> tuple[Any, str]:
    """The parsed document and its text; ConfigError for a file that cannot be read, is not
    UTF-8, is not YAML, or holds a value YAML cannot build (a date like 2026-13-01)."""
    import yaml  # lazy: the core import stays OpenTelemetry + wrapt

    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror or err}", file=source) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})", file=source
        ) from None
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"invalid YAML{at}: {problem}", file=source) from None
    except ValueError as err:  # a scalar the loader cannot construct: 2026-13-01 as a date
        raise ConfigError(f"invalid YAML value: {err}", file=source) from None
