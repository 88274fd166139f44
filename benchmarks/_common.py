"""Helpers shared by the benchmark scripts (imported as ``_common`` when a script runs)."""

from __future__ import annotations

import argparse
import math


def ints(text: str) -> list[int]:
    """argparse type: comma-separated positive integers ("50,200,1_000")."""
    try:
        vals = [int(v) for v in text.replace(" ", "").replace("_", "").split(",") if v]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def table(head: tuple[str, ...], body: list[tuple[str, ...]]) -> None:
    """Print an aligned plain-text table: first column left, the others right."""
    width = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, width, strict=True)))
    print(line(head))
    print("  ".join("-" * w for w in width))
    for b in body:
        print(line(b))


def verdict(ok: bool | None) -> str:
    return "N/A (not run)" if ok is None else ("PASS" if ok else "MISS")


def clean(x):
    """JSON-safe: non-finite floats become None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x
