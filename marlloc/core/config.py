"""Validation helpers shared by every frozen config dataclass.

Configs validate themselves in ``__post_init__`` through :func:`check`, so one rule lives in
one place and every message reads "<field> must <rule>, got <value>; <fix>".
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from marlloc.core.errors import ConfigError


def check(ok: bool, field: str, rule: str, value: Any, fix: str) -> None:
    """Raise ConfigError("<field> must <rule>, got <value>; <fix>") unless ``ok``."""
    if not ok:
        raise ConfigError(f"{field} must {rule}, got {value!r}; {fix}")


def check_fields(cls: type, d: dict[str, Any], what: str) -> None:
    """Raise ConfigError for the first key of ``d`` that is not a field of the dataclass ``cls``."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown {what} field {unknown[0]!r}; valid fields: {', '.join(sorted(names))}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists."""
    def conv(v):
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        return v

    return conv(cfg)


def from_dict(cls: type, d: dict[str, Any]) -> Any:
    """``cls(**d)`` for a dict :func:`to_dict` wrote (JSON): its lists become tuples again, nested too."""
    def conv(v):
        return tuple(conv(x) for x in v) if isinstance(v, (list, tuple)) else v

    return cls(**{k: conv(v) for k, v in d.items()})


def check_out_dir(out: str | Path, option: str = "--out") -> None:
    """Refuse a results folder that could not be created or written, before any work (nothing is
    created here). A refusal this cannot foresee (a full disk) still ends as one line, in the CLI."""
    probe = Path(out).absolute()
    while not probe.exists():  # the nearest existing ancestor is where the folders would be created
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        why = "a file" if not probe.is_dir() else "not writable"
        raise ConfigError(f"{option} must be a folder that can be created and written, got {str(out)!r} "
                          f"({str(probe)!r} is {why}); pick another path")


__all__ = ["check", "check_fields", "to_dict"]
