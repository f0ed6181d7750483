"""Config fields: how a key is declared (default, unit, doc, check), the checks, and value coercion."""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from ..errors import ConfigError


def _f(default, unit: str = "", doc: str = "", check=None, **kw):
    """A config field with its unit, one-line doc and validity check."""
    meta = {"unit": unit, "doc": doc, "check": check}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: _copy(d), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# ---- checks: each returns None when fine or the rule that was broken -----------


def _positive(v):
    return None if v > 0 else "must be > 0"


def _non_negative(v):
    return None if v >= 0 else "must be >= 0"


def _fraction(v):
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def _probability(v):
    return None if 0 <= v <= 1 else "must be a probability in [0, 1]"


def _square(v):
    if v < 1:
        return "must be a square number >= 1 (1, 4, 9, 16, ...)"
    r = math.isqrt(v)
    return None if r * r == v else "must be a square number (1, 4, 9, 16, ...)"


def _at_least(n):
    return lambda v: None if v >= n else f"must be >= {n}"


def _between(lo, hi):
    return lambda v: None if lo <= v <= hi else f"must be in [{lo}, {hi}]"


def _one_of(*allowed):
    return lambda v: None if v in allowed else "must be one of " + ", ".join(repr(a) for a in allowed)


# TOML key <-> dataclass field name where Python forbids the TOML name.
_ALIASES = {"lambda": "lambda_"}
_ALIASES_BACK = {v: k for k, v in _ALIASES.items()}


def _type_name(t) -> str:
    return {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        t, str(t)
    )


def _coerce(key: str, value: Any, default: Any):
    """Check ``value`` has the type of ``default``; ints are accepted for floats."""
    t = type(default)
    if t is bool:
        ok = isinstance(value, bool)
    elif t is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(key, f"must be a finite number, got {value}")
    elif t is str:
        ok = isinstance(value, str)
        if ok and "\x00" in value:
            raise ConfigError(key, "must not contain a NUL character")
    elif t is list:
        ok = isinstance(value, list)
    else:  # pragma: no cover - schema error
        raise TypeError(t)
    if not ok:
        raise ConfigError(key, f"must be {_type_name(t)}, got {_show(value)}")
    return value


def _show(value) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
