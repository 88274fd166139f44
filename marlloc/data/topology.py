"""Edge topology from the EUA dataset: real base-station sites and user positions.

The EUA dataset (see ``shared/data/eua/PROVENANCE.md``) gives the WGS84 coordinates of 125 real
Optus sites in Melbourne's CBD and 816 user positions generated inside the same area. The
simulator samples ``n_edges`` sites as edge servers and ``n_users`` user positions from these
files and needs the user-to-server distances, so this module loads, validates and samples them.

It also holds :class:`CsvTable`, the small CSV reader shared with :mod:`marlloc.data.traces`:
both loaders need the same promise, namely that a bad file stops the run with a one-line
:class:`DataError` naming the file, the line, the column and the fix, never a traceback.
Parsing uses the stdlib ``csv`` module plus one vectorised numpy conversion per column, which
reads the 84k-row NASA file in well under a second.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from marlloc.core.config import check
from marlloc.core.errors import DataError

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG R1) in metres, the usual choice for haversine distances."""

SITE_COLUMNS = ("SITE_ID", "LATITUDE", "LONGITUDE")
USER_COLUMNS = ("Latitude", "Longitude")


def _show(value: object, limit: int = 40) -> str:
    """``repr`` cut to ``limit`` characters: file contents may hold newlines or be huge, and
    every error message must stay on one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header and non-blank data rows, with the file line number of each row so
    error messages can point at the exact line to fix."""

    source: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def fail(self, message: str) -> NoReturn:
        """Raise the one-line DataError every problem with this file turns into."""
        raise DataError(f"{self.source}: {message}")

    def where(self, index: int) -> str:
        return f"data row {index + 1} (line {self.lines[index]})"

    def column_list(self) -> str:
        return ", ".join(_show(name) for name in self.header)

    def require(self, names: tuple[str, ...], fix: str) -> None:
        """Fail on the first of ``names`` that is not a header column."""
        for name in names:
            if name not in self.header:
                self.fail(f"column {_show(name)} missing (found: {self.column_list()}); {fix}")

    def cells(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def is_numeric(self, name: str) -> bool:
        """True when every cell of column ``name`` parses as a float."""
        try:
            np.asarray(self.cells(name), dtype=np.float64)
        except ValueError:
            return False
        return True

    def floats(self, name: str) -> np.ndarray:
        """Column ``name`` as float64; fails naming the first empty, non-numeric or non-finite cell."""
        cells = self.cells(name)
        try:
            values = np.asarray(cells, dtype=np.float64)
        except ValueError:
            # numpy does not say which cell failed; convert one by one to name it in the message.
            values = np.array([self._float(cell, index, name) for index, cell in enumerate(cells)])
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            index = int(bad[0])
            self.fail(f"{self.where(index)}, column {_show(name)} is {values[index]}; "
                      "values must be finite numbers, fix or delete that row")
        return values

    def _float(self, cell: str, index: int, name: str) -> float:
        try:
            return float(cell)
        except ValueError:
            what = "is empty" if not cell.strip() else f"holds {_show(cell)}, not a number"
            self.fail(f"{self.where(index)}, column {_show(name)} {what}; every row needs a number there")


def read_csv_table(path: str | Path) -> CsvTable:
    """Read a UTF-8 CSV file (a leading BOM is allowed) into a :class:`CsvTable`.

    Fails on a missing or unreadable file, an empty file, duplicate column names (a lookup
    by name would be ambiguous) and rows whose field count differs from the header's.
    Blank lines are skipped: they carry no data and spreadsheet exports often end with one.
    """
    source = str(path)
    if not Path(path).is_file():
        raise DataError(f"{source}: file not found (working directory {Path.cwd()}); check the path")
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows, lines = [], []
            for row in reader:
                if row:
                    rows.append(row)
                    lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = " ".join(str(exc).split())
        raise DataError(f"{source}: cannot read as a UTF-8 CSV file ({type(exc).__name__}: {reason}); "
                        "re-save it as UTF-8 comma-separated text") from exc
    table = CsvTable(source, header, rows, lines)
    _check_shape(table)
    return table


def _check_shape(table: CsvTable) -> None:
    if not table.header:
        table.fail("file is empty; expected a header row of column names, then data rows")
    duplicates = sorted({name for name in table.header if table.header.count(name) > 1})
    if duplicates:
        table.fail(f"column {_show(duplicates[0])} appears more than once in the header; rename one of them")
    for row, line in zip(table.rows, table.lines, strict=True):
        if len(row) != len(table.header):
            table.fail(f"line {line} has {len(row)} fields but the header has {len(table.header)}; "
                       "quote cells that contain commas and give every row one field per column")


def _check_range(table: CsvTable, name: str, values: np.ndarray, limit: float) -> None:
    bad = np.flatnonzero(np.abs(values) > limit)
    if bad.size:
        index = int(bad[0])
        table.fail(f"{table.where(index)}, column {_show(name)} is {values[index]}, outside "
                   f"[-{limit:g}, {limit:g}]; coordinates must be WGS84 degrees (are lat/lon swapped?)")


def _load_latlon(path: str | Path, required: tuple[str, ...], fix: str) -> np.ndarray:
    """Columns ``required[-2:]`` (latitude, longitude) of a CSV as float64 [n, 2], validated."""
    table = read_csv_table(path)
    table.require(required, fix)
    if not table.rows:
        table.fail(f"no data rows under the header; {fix} and at least one row")
    lat_name, lon_name = required[-2:]
    lat, lon = table.floats(lat_name), table.floats(lon_name)
    _check_range(table, lat_name, lat, 90.0)
    _check_range(table, lon_name, lon, 180.0)
    return np.column_stack([lat, lon])


def load_sites(path: str | Path) -> np.ndarray:
    """EUA edge-site CSV -> float64 [n_sites, 2] of (lat, lon) in WGS84 degrees.

    Needs columns SITE_ID, LATITUDE, LONGITUDE (e.g. ``site-optus-melbCBD.csv``); other columns
    are ignored. SITE_ID is required although unused, so that a users file passed by mistake
    is rejected rather than silently used as server sites.

    Raises DataError for a missing file, a missing column, an empty or non-numeric lat/lon cell
    (naming its row), a latitude outside [-90, 90] or longitude outside [-180, 180], or zero rows.
    """
    return _load_latlon(path, SITE_COLUMNS, "the EUA site file needs SITE_ID, LATITUDE, LONGITUDE")


def load_user_positions(path: str | Path) -> np.ndarray:
    """EUA users CSV -> float64 [n, 2] of (lat, lon) in WGS84 degrees.

    Needs columns Latitude, Longitude; other columns are ignored, so both
    ``users-melbcbd-generated.csv`` (only those two) and ``users-aus.csv`` (IP, Latitude,
    Longitude, PostCode, ...) load. Same validation as :func:`load_sites`.
    """
    return _load_latlon(path, USER_COLUMNS, "an EUA users file needs Latitude, Longitude")


def _as_latlon(points: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape [n, 2] of (lat, lon) degrees, got shape {array.shape}")
    return array


def haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres from every row of ``a`` [n, 2] to every row of ``b`` [m, 2].

    Rows are (lat, lon) in degrees; the result is [n, m], using the mean Earth radius
    :data:`EARTH_RADIUS_M`. On the sphere the error against the WGS84 ellipsoid is below 0.5 %,
    far below the uncertainty of where a user actually stands.
    """
    lat_a, lon_a = np.radians(_as_latlon(a, "a")).T
    lat_b, lon_b = np.radians(_as_latlon(b, "b")).T
    dlat = lat_b[None, :] - lat_a[:, None]
    dlon = lon_b[None, :] - lon_a[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat_a)[:, None] * np.cos(lat_b)[None, :] * np.sin(dlon / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points, where arcsin would return NaN.
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def pick_topology(
    sites_path: str | Path,
    users_path: str | Path,
    n_edges: int,
    n_users: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample an edge topology from the EUA files.

    Draws ``n_edges`` distinct sites (without replacement; DataError if the file has fewer)
    and then ``n_users`` user positions: without replacement when the file has at least
    ``n_users`` rows, otherwise WITH replacement, so several users may share a position (logged
    at INFO). Both draws use ``rng`` in that order, so the same seed gives the same topology.

    Returns ``(site_latlon [n_edges, 2], user_latlon [n_users, 2], distance_m [n_users, n_edges])``.
    """
    check(n_edges >= 1, "n_edges", "be ≥ 1", n_edges, "try n_edges=10")
    check(n_users >= 1, "n_users", "be ≥ 1", n_users, "try n_users=200")
    sites = load_sites(sites_path)
    users = load_user_positions(users_path)
    if n_edges > len(sites):
        raise DataError(f"{sites_path}: n_edges={n_edges} but the file has only {len(sites)} sites; "
                        f"use n_edges ≤ {len(sites)} or a site file with more rows")
    site_pick = sites[rng.choice(len(sites), size=n_edges, replace=False)]
    with_replacement = n_users > len(users)
    if with_replacement:
        logger.info("%s: %d users requested but the file has %d positions; sampling with replacement",
                    users_path, n_users, len(users))
    user_pick = users[rng.choice(len(users), size=n_users, replace=with_replacement)]
    return site_pick, user_pick, haversine_m(user_pick, site_pick)
