"""Real time series that drive the simulator: request arrivals and background load.

The simulator does not invent its temporal patterns: request arrivals follow the NASA-HTTP
1995 per-minute counts and cloud background load / bandwidth fluctuation follow the
Alibaba 2018, Google 2019 or Azure 2019 utilisation traces (see the PROVENANCE.md files under
``shared/data``). This module reads one numeric column of such a CSV and turns it into the two
shapes the simulator consumes: a rate multiplier with mean 1 (arrivals scale a target mean
rate) and a bandwidth factor in [1 - amplitude, 1] (load eats into link capacity).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from marlloc.core.config import check
from marlloc.core.errors import DataError
from marlloc.data.topology import CsvTable, read_csv_table

logger = logging.getLogger(__name__)

SERVER_DOWN = "server_down"
"""Flag column of the NASA file: 1 marks the minutes the server was off (Hurricane Erin outage)."""


def load_series(path: str | Path, column: str | None = None) -> np.ndarray:
    """One numeric column of a CSV file as a float64 series [T].

    With ``column=None`` the first column that is numeric in every row is used (the choice is
    logged at INFO): the NASA file's ISO timestamp column is skipped so ``requests`` is chosen,
    and the first Alibaba/Google column is CPU. The Azure file's first column, ``timestamp``, is
    itself numeric and would be chosen, so pass ``column="cpu_usage"`` for it.

    If the file has a ``server_down`` column, rows where it is 1 are DROPPED and the count is
    logged at INFO: those minutes read 0 because the server was off, not because demand was idle.

    Raises DataError for a missing file, an unknown column (listing the available ones), an empty,
    non-numeric, NaN or infinite cell (naming row and column), a negative value, fewer than 2 rows
    or all values zero.
    """
    table = read_csv_table(path)
    name = column if column is not None else _first_numeric_column(table)
    table.require((name,), "pass one of the found columns as column=")
    values = table.floats(name)
    _check_non_negative(table, name, values)
    values = _drop_server_down(table, values)
    if len(values) < 2:
        table.fail(f"column {name!r} has {len(values)} usable rows; a time series needs at least 2")
    if not values.any():
        table.fail(f"column {name!r} is zero in every row; a demand series needs some positive values")
    return values


def _first_numeric_column(table: CsvTable) -> str:
    # server_down is a 0/1 flag, never the demand itself, so it is not a default candidate.
    for name in table.header:
        if name != SERVER_DOWN and table.is_numeric(name):
            logger.info("%s: using column %r, the first column that is numeric in every row",
                        table.source, name)
            return name
    table.fail(f"no column is numeric in every row (columns: {table.column_list()}); "
               "pass column= explicitly or fix the non-numeric cells")


def _check_non_negative(table: CsvTable, name: str, values: np.ndarray) -> None:
    bad = np.flatnonzero(values < 0)
    if bad.size:
        index = int(bad[0])
        table.fail(f"{table.where(index)}, column {name!r} is {values[index]}; "
                   "counts and utilisations must be ≥ 0, fix or delete that row")


def _drop_server_down(table: CsvTable, values: np.ndarray) -> np.ndarray:
    if SERVER_DOWN not in table.header:
        return values
    flags = table.floats(SERVER_DOWN)
    bad = np.flatnonzero((flags != 0) & (flags != 1))
    if bad.size:
        index = int(bad[0])
        table.fail(f"{table.where(index)}, column {SERVER_DOWN!r} is {flags[index]}; it must be 0 or 1")
    down = flags == 1
    logger.info("%s: dropped %d of %d rows with server_down == 1 (server off, not idle demand)",
                table.source, int(down.sum()), len(values))
    return values[~down]


def _as_series(series: np.ndarray, caller: str) -> np.ndarray:
    """``series`` as a 1-D float64 array that is non-empty, finite, non-negative and not all zero."""
    array = np.asarray(series, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"{caller}: series must be a non-empty 1-D array, got shape {array.shape}; "
                        "load it with load_series")
    if not np.isfinite(array).all() or (array < 0).any():
        raise DataError(f"{caller}: series must be finite and ≥ 0 (min {array.min()}, max {array.max()}); "
                        "load it with load_series, which rejects such values")
    if not array.any():
        raise DataError(f"{caller}: series is zero everywhere, so it cannot be scaled by its mean or peak; "
                        "use a series with some positive values")
    return array


def rate_multiplier(series: np.ndarray) -> np.ndarray:
    """``series / series.mean()``: a float64 multiplier with mean 1 for a target mean arrival rate.

    DataError if the series is empty, negative, non-finite or all zero (mean 0).
    """
    array = _as_series(series, "rate_multiplier")
    return array / array.mean()


def fluctuation_factor(series: np.ndarray, amplitude: float) -> np.ndarray:
    """Bandwidth factor ``1 - amplitude * series / series.max()`` in [1 - amplitude, 1] (float64).

    The busiest moment of the trace removes ``amplitude`` of the link capacity, an idle one none.
    ConfigError (a ValueError) if ``amplitude`` is not in [0, 1]; DataError for a series
    :func:`rate_multiplier` would reject.
    """
    check(0.0 <= amplitude <= 1.0, "amplitude", "be in [0, 1]", amplitude, "try amplitude=0.3")
    array = _as_series(series, "fluctuation_factor")
    return 1.0 - amplitude * array / array.max()
