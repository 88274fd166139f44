"""World Development Indicators (WDI): one loader for a tidy CSV, the World Bank bulk files and the live API.

The economy scenario calibrates its countries on a WDI panel (``docs/worldbank.md``). That panel reaches
us in three shapes: a tidy CSV someone prepared (``shared/data/worldbank/wdi_snapshot.csv``), the
per-indicator bulk files the World Bank website hands out (``API_<CODE>_DS2_*.csv``), or the API v2. A run
must not depend on which shape was used, so :func:`load_wdi` turns each into ONE tidy frame with the same
columns, dtypes, row order and aggregate handling, and records where the numbers came from in
``frame.attrs`` (source, vintage, derived columns) so every run can state its data vintage.

Rules shared by every source, because a silently wrong panel is worse than a failed run:

- Aggregates (World, regions, income groups, IDA/IBRD, EMU, ...) are dropped: they are sums or means of the
  economies and would count them twice. :data:`WB_AGGREGATES` lists the World Bank's codes; country
  metadata adds any entry whose region is empty or "Aggregates".
- Every kind of dropped row (aggregates, years outside ``years``, country-years with no value) is logged
  with a count; nothing disappears unannounced.
- Bad data raises :class:`DataError` on one line naming the file (line, column) or the indicator, the rule
  and the fix.
- ``NE.RSB.GNFS.ZS`` (external balance) is missing from many copies; when it is requested but absent and
  exports and imports are there, it is derived as exports − imports (the WDI definition) and listed in
  ``attrs["derived"]``.

:func:`synthetic_wdi` makes a panel in exactly this format from documented distributions: the embedded
default when no data is given. :func:`wdi_coverage` summarises what a panel holds.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import logging
import math
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from marlloc.core.config import check
from marlloc.core.errors import ConfigError, DataError
from marlloc.core.seeding import numpy_rng
from marlloc.data.topology import _show, read_csv_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Indicator:
    """One WDI series: its code, a short name for code and plots, the World Bank's name, and its unit."""

    code: str
    name: str
    long_name: str
    unit: str


INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    Indicator("NY.GDP.PCAP.KD", "gdp_per_capita", "GDP per capita (constant 2015 US$)", "constant 2015 US$"),
    Indicator("NY.GDP.PCAP.CD", "gdp_per_capita_usd", "GDP per capita (current US$)", "current US$"),
    Indicator("NY.GDP.MKTP.CD", "gdp_usd", "GDP (current US$)", "current US$"),
    Indicator("NY.GDP.MKTP.KD.ZG", "gdp_growth", "GDP growth (annual %)", "% per year"),
    Indicator("SP.POP.TOTL", "population", "Population, total", "persons"),
    Indicator("SP.POP.GROW", "population_growth", "Population growth (annual %)", "% per year"),
    Indicator("SH.XPD.CHEX.GD.ZS", "health_expenditure", "Current health expenditure (% of GDP)", "% of GDP"),
    Indicator("SH.XPD.GHED.GD.ZS", "public_health_expenditure",
              "Domestic general government health expenditure (% of GDP)", "% of GDP"),
    Indicator("SE.XPD.TOTL.GD.ZS", "education_expenditure",
              "Government expenditure on education, total (% of GDP)", "% of GDP"),
    Indicator("NE.GDI.FTOT.ZS", "fixed_capital_formation", "Gross fixed capital formation (% of GDP)", "% of GDP"),
    Indicator("NE.GDI.TOTL.ZS", "capital_formation", "Gross capital formation (% of GDP)", "% of GDP"),
    Indicator("BX.KLT.DINV.WD.GD.ZS", "fdi_inflows", "Foreign direct investment, net inflows (% of GDP)",
              "% of GDP"),
    Indicator("SL.UEM.TOTL.ZS", "unemployment",
              "Unemployment, total (% of total labor force) (modeled ILO estimate)", "% of labour force"),
    Indicator("FP.CPI.TOTL.ZG", "inflation", "Inflation, consumer prices (annual %)", "% per year"),
    Indicator("NE.EXP.GNFS.ZS", "exports", "Exports of goods and services (% of GDP)", "% of GDP"),
    Indicator("NE.IMP.GNFS.ZS", "imports", "Imports of goods and services (% of GDP)", "% of GDP"),
    Indicator("NE.RSB.GNFS.ZS", "trade_balance", "External balance on goods and services (% of GDP)", "% of GDP"),
    Indicator("GC.XPN.TOTL.GD.ZS", "government_expense", "Expense (% of GDP)", "% of GDP"),
)}
"""Every WDI series marlloc knows, by code. ``indicators=None`` loads the ones a source holds."""

DEFAULT_INDICATORS = (
    "NY.GDP.PCAP.KD", "SP.POP.GROW", "SH.XPD.CHEX.GD.ZS", "SE.XPD.TOTL.GD.ZS", "NE.GDI.FTOT.ZS",
    "BX.KLT.DINV.WD.GD.ZS", "NY.GDP.MKTP.KD.ZG", "NE.GDI.TOTL.ZS", "SL.UEM.TOTL.ZS", "FP.CPI.TOTL.ZG",
    "NE.RSB.GNFS.ZS", "SP.POP.TOTL",
)
"""The economy scenario's features (``/work/shared/design/economy.md``, section Data)."""

TRADE_BALANCE, EXPORTS, IMPORTS = "NE.RSB.GNFS.ZS", "NE.EXP.GNFS.ZS", "NE.IMP.GNFS.ZS"

WB_AGGREGATES = frozenset({
    # World, geographic regions and their "excluding high income" / "IDA & IBRD" variants
    "WLD", "AFE", "AFW", "ARB", "CEB", "EAP", "EAS", "ECA", "ECS", "EMU", "EUU", "LAC", "LCN", "MEA", "MNA",
    "NAC", "SAS", "SSA", "SSF", "TEA", "TEC", "TLA", "TMN", "TSA", "TSS",
    # income groups and lending categories
    "HIC", "LIC", "LMC", "LMY", "MIC", "UMC", "INX", "IBD", "IBT", "IDA", "IDB", "IDX",
    # other groupings: OECD, small states, fragile, HIPC, LDC, demographic dividend
    "OED", "CSS", "OSS", "PSS", "SST", "FCS", "HPC", "LDC", "EAR", "LTE", "PRE", "PST",
})
"""The 49 World Bank aggregate codes: every code of the 2023-2026 bulk files in ``shared/data/worldbank/raw``
that is not one of the 217 economies of ``wdi_countries.csv``."""

DEFAULT_BASE_URL = "https://api.worldbank.org/v2"
ID_COLUMNS = ("iso3", "country_name", "region", "income_group", "year")
MISSING_CELLS = frozenset({"", "..", "nan", "NaN", "NA"})
"""Cell texts read as "no value": empty, the World Bank DataBank's ``..``, and pandas' NaN/NA spellings."""

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_ISO3 = re.compile(r"^[A-Z0-9]{3}$")
_BULK_NAME = re.compile(r"^API_(.+?)_DS2_")
# pandas ≥ 3 has a real "str" dtype; older pandas keeps text in object columns.
_TEXT = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
_LIVE_FIX = "check the network or load a file: load_wdi('wdi.csv')"
_VALUE_FIX = "write a plain number, or leave the cell empty for a missing value"


# --- small helpers --------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """An exception as one line, for embedding in a one-line error message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _parse_floats(cells: list[str], fail: Callable[[int, str], NoReturn]) -> np.ndarray:
    """Text cells -> float64 with NaN for :data:`MISSING_CELLS`; ``fail(index, problem)`` for anything else."""
    out = np.full(len(cells), np.nan)
    for index, cell in enumerate(cells):
        text = cell.strip()
        if text in MISSING_CELLS:
            continue
        try:
            value = float(text)
        except ValueError:
            fail(index, f"holds {_show(cell)}, not a number")
        if not math.isfinite(value):
            fail(index, f"is {text}, not a finite number")
        out[index] = value
    return out


def _check_indicators(indicators: Iterable[str] | str | None) -> list[str] | None:
    if indicators is None:
        return None
    codes = [c.strip() for c in indicators.split(",")] if isinstance(indicators, str) else list(indicators)
    if not codes:
        raise ConfigError("indicators must name at least one WDI code, got an empty list; "
                          "e.g. indicators=['NY.GDP.PCAP.KD'] or None for all")
    for code in codes:
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConfigError(f"indicators must be WDI codes like 'NY.GDP.PCAP.KD', got {_show(code)}; "
                              "check the spelling")
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ConfigError(f"indicators must not repeat a code, got {duplicates[0]!r} twice; list it once")
    return codes


def _check_years(years: tuple[int, int] | Iterable[int] | None) -> tuple[set[int] | None, tuple[int, int] | None]:
    """``years`` -> (allowed set or None for all, (first, last) span for the API's ``date=`` or None)."""
    if years is None:
        return None, None

    def as_year(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"years must hold integer years, got {_show(value)}; e.g. years=(2000, 2022)")
        return int(value)

    if isinstance(years, tuple) and len(years) == 2:
        first, last = as_year(years[0]), as_year(years[1])
        check(first <= last, "years", "be an inclusive (first, last) pair with first ≤ last", years,
              f"e.g. years=({last}, {first})")
        return set(range(first, last + 1)), (first, last)
    if isinstance(years, (str, bytes)) or not isinstance(years, Iterable):
        raise ConfigError(f"years must be None, a (first, last) pair or a list of years, got {_show(years)}; "
                          "e.g. years=(2000, 2022)")
    allowed = {as_year(y) for y in years}
    if not allowed:
        raise ConfigError("years must hold at least one year, got an empty list; e.g. years=(2000, 2022)")
    return allowed, (min(allowed), max(allowed))


# --- country metadata -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Meta:
    """Country metadata: the known economies (iso3 -> name, region, income group) and aggregate codes."""

    label: str
    economies: dict[str, tuple[str | None, str | None, str | None]]
    aggregates: frozenset[str]


def _blank_to_none(text: str | None) -> str | None:
    text = (text or "").strip()
    # The API calls unclassified economies (ETH, VEN in 2025) "Not classified"; the CSVs leave them empty.
    return None if text in ("", "Not classified") else text


def _meta_from_rows(label: str, rows: Iterable[tuple[str, str | None, str | None, str | None]]) -> _Meta:
    economies: dict[str, tuple[str | None, str | None, str | None]] = {}
    aggregates = set()
    for iso3, name, region, income in rows:
        region = _blank_to_none(region)
        if region is None or region == "Aggregates":
            aggregates.add(iso3)
        else:
            economies[iso3] = (_blank_to_none(name), region, _blank_to_none(income))
    return _Meta(label, economies, frozenset(aggregates))


def _read_countries_csv(path: Path) -> _Meta:
    """A countries file ``iso3,country_name,region,income_group`` (like ``wdi_countries.csv``)."""
    table = read_csv_table(path)
    needed = ("iso3", "country_name", "region", "income_group")
    table.require(needed, "a countries file needs columns iso3, country_name, region, income_group")
    columns = [table.cells(name) for name in needed]
    seen: dict[str, int] = {}
    for index, iso3 in enumerate(columns[0]):
        if not _ISO3.match(iso3.strip()):
            table.fail(f"{table.where(index)}, column 'iso3' is {_show(iso3)}; "
                       "iso3 must be a 3-character World Bank code like 'ABW'")
        if iso3 in seen:
            table.fail(f"iso3 {iso3!r} appears on line {table.lines[seen[iso3]]} and line {table.lines[index]}; "
                       "keep one row per country")
        seen[iso3] = index
    return _meta_from_rows(f"{path}", (tuple(row) for row in zip(*columns, strict=True)))


def _read_bulk_metadata(paths: list[Path]) -> _Meta:
    """World Bank ``Metadata_Country_*.csv`` files ("Country Code","Region","IncomeGroup",...,"TableName")."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for path in paths:
        table = read_csv_table(path)
        table.require(("Country Code", "Region", "IncomeGroup", "TableName"),
                      "a World Bank Metadata_Country file needs Country Code, Region, IncomeGroup, TableName")
        columns = zip(table.cells("Country Code"), table.cells("TableName"), table.cells("Region"),
                      table.cells("IncomeGroup"), strict=True)
        for iso3, name, region, income in columns:
            rows.setdefault(iso3.strip(), (iso3.strip(), name, region, income))
        logger.info("%s: country metadata for %d codes", path, len(table.rows))
    return _meta_from_rows(", ".join(str(p) for p in paths), rows.values())


# --- what every source yields ---------------------------------------------------------------------------


@dataclass
class _Panel:
    """One source's data before the shared clean-up of :func:`_finish`."""

    source: str                   # attrs["source"]
    label: str                    # what error messages name: a file, folder or URL
    frame: pd.DataFrame           # iso3, year, then one float64 column per code read; aggregates included
    names: dict[str, str]         # iso3 -> country name as the source spells it
    where: dict[str, str]         # iso3 -> where it first appears, for error messages
    vintage: dict[str, str]       # code -> World Bank "last updated" date
    output: list[str]             # the indicator columns of the result, in order
    derived: list[str]            # codes of ``output`` computed here rather than read


def _plan(wanted: list[str] | None, available: list[str], label: str, fix: str) -> tuple[list, list, list]:
    """(codes to read, output codes, derived codes) for a source holding ``available`` codes."""
    if wanted is None:
        known = [c for c in INDICATORS if c in available]  # table order, so every source agrees
        unknown = [c for c in available if c not in INDICATORS]
        if unknown:
            logger.info("%s: ignoring %d series not in INDICATORS (%s); request them by code to load them",
                        label, len(unknown), ", ".join(unknown))
        if not known:
            raise DataError(f"{label}: no known WDI indicator in this source (found: {', '.join(available) or 'none'}"
                            f"); pass indicators=[...] or use a file with columns such as NY.GDP.PCAP.KD")
        return known, known, []
    read, derived = [], []
    for code in wanted:
        if code in available:
            read.append(code)
        elif code == TRADE_BALANCE and EXPORTS in available and IMPORTS in available:
            derived.append(code)
        else:
            raise DataError(f"{label}: indicator {code} not found (it has: {', '.join(available) or 'none'}); "
                            f"{fix.format(code=code)}")
    if derived:
        read += [c for c in (EXPORTS, IMPORTS) if c not in read]
    return read, wanted, derived


# --- source 1: tidy CSV ---------------------------------------------------------------------------------


def _read_tidy(path: Path, wanted: list[str] | None) -> _Panel:
    table = read_csv_table(path)
    table.require(("iso3", "year"), "a tidy WDI file needs columns iso3, year and one column per WDI code "
                                    "(e.g. NY.GDP.PCAP.KD)")
    if not table.rows:
        table.fail("no data rows under the header; add one row per country-year")
    available = [c for c in table.header if _CODE.match(c)]
    ignored = [c for c in table.header if c not in available and c not in ("iso3", "year", "country_name")]
    if ignored:
        logger.info("%s: ignoring %d non-indicator columns (%s)", path, len(ignored), ", ".join(ignored))
    read, output, derived = _plan(wanted, available, str(path),
                                  "drop {code} from indicators or add a {code} column to the file")

    iso3s = [cell.strip() for cell in table.cells("iso3")]
    years = np.empty(len(iso3s), dtype=np.int64)
    seen: dict[tuple[str, int], int] = {}
    for index, (iso3, year) in enumerate(zip(iso3s, table.cells("year"), strict=True)):
        if not _ISO3.match(iso3):
            table.fail(f"{table.where(index)}, column 'iso3' is {_show(iso3)}; "
                       "iso3 must be a 3-character World Bank code like 'ABW'")
        try:
            years[index] = int(year.strip())
        except ValueError:
            table.fail(f"{table.where(index)}, column 'year' holds {_show(year)}; write the year as an integer")
        key = (iso3, int(years[index]))
        if key in seen:
            table.fail(f"{iso3} {key[1]} appears on line {table.lines[seen[key]]} and line {table.lines[index]}; "
                       "keep one row per country-year")
        seen[key] = index

    def fail_in(code: str) -> Callable[[int, str], NoReturn]:
        return lambda index, problem: table.fail(f"{table.where(index)}, column {code!r} {problem}; {_VALUE_FIX}")

    frame = pd.DataFrame({"iso3": iso3s, "year": years,
                          **{code: _parse_floats(table.cells(code), fail_in(code)) for code in read}})
    names, where = {}, {}
    has_names = "country_name" in table.header
    for index, iso3 in enumerate(iso3s):
        if iso3 not in where:
            where[iso3] = table.where(index)
            if has_names:
                names[iso3] = table.rows[index][table.header.index("country_name")].strip()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    vintage = {code: f"unknown (tidy CSV, sha256 {digest})" for code in read}
    return _Panel(f"tidy:{path}", str(path), frame, names, where, vintage, output, derived)


# --- source 2: World Bank bulk files --------------------------------------------------------------------


def _is_bulk_file(path: Path) -> bool:
    """True for a World Bank bulk CSV, whose first line is the "Data Source" preamble."""
    with path.open("rb") as handle:
        head = handle.read(64).decode("utf-8-sig", errors="replace").lstrip('"')
    return head.startswith("Data Source")


@dataclass
class _BulkFile:
    code: str
    frame: pd.DataFrame           # iso3, year, <code>; one row per country × year column
    names: dict[str, str]
    where: dict[str, str]
    updated: str


def _read_bulk_file(path: Path) -> _BulkFile:
    """One ``API_<CODE>_DS2_*.csv``: BOM, "Data Source" / "Last Updated Date" preamble, then a wide table
    ``Country Name,Country Code,Indicator Name,Indicator Code,1960,...`` with a trailing comma on every line."""
    def fail(message: str) -> NoReturn:
        raise DataError(f"{path}: {message}")

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows, lines = [], []
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fail(f"cannot read as a UTF-8 CSV file ({type(exc).__name__}: {_reason(exc)}); "
             "download the CSV again from data.worldbank.org")
    start = next((i for i, row in enumerate(rows[:10]) if row[:1] == ["Country Name"]), None)
    if start is None:
        fail("no 'Country Name,Country Code,Indicator Name,Indicator Code,1960,...' header in the first 10 lines; "
             "use the World Bank's CSV download or a tidy CSV with columns iso3, year, <CODE>")
    updated = next((row[1].strip() for row in rows[:start] if row[:1] == ["Last Updated Date"] and len(row) > 1),
                   "unknown (no Last Updated Date line)")
    header = list(rows[start])
    while header and not header[-1].strip():  # every line ends in a comma: drop the empty last field
        header.pop()
    if header[:4] != ["Country Name", "Country Code", "Indicator Name", "Indicator Code"]:
        fail(f"line {lines[start]} starts {_show(header[:4], 90)}; expected Country Name, Country Code, "
             "Indicator Name, Indicator Code, then one column per year")
    years = []
    for name in header[4:]:
        if not re.fullmatch(r"\d{4}", name.strip()):
            fail(f"line {lines[start]}, column {_show(name)} is not a year; after the four name columns every "
                 "header cell must be a year such as 1960")
        years.append(int(name))
    body, body_lines = [], []
    for row, line in zip(rows[start + 1:], lines[start + 1:], strict=True):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and not any(cell.strip() for cell in row[len(header):]):
            row = row[:len(header)]
        if len(row) != len(header):
            fail(f"line {line} has {len(row)} fields but the header has {len(header)}; "
                 "download the file again or fix that line")
        body.append(row)
        body_lines.append(line)
    match = _BULK_NAME.match(path.name)
    codes = {row[3].strip() for row in body}
    code = match.group(1) if match else (codes.pop() if len(codes) == 1 else "")
    for row, line in zip(body, body_lines, strict=True):
        if row[3].strip() != code:
            fail(f"line {line} holds indicator {_show(row[3])} but the file is for {code or 'one indicator'}; "
                 "keep one indicator per bulk file")

    names, where, seen = {}, {}, {}
    for row, line in zip(body, body_lines, strict=True):
        iso3 = row[1].strip()
        if not _ISO3.match(iso3):
            fail(f"line {line}, column 'Country Code' is {_show(iso3)}; it must be a 3-character World Bank code")
        if iso3 in seen:
            fail(f"country {iso3} appears on line {seen[iso3]} and line {line}; keep one row per country")
        seen[iso3] = line
        names[iso3] = row[0].strip()
        where[iso3] = f"line {line}"
    values = np.empty((len(body), len(years)))
    for column, year in enumerate(years):
        def fail_at(index: int, problem: str, year: int = year) -> NoReturn:
            fail(f"line {body_lines[index]}, column '{year}' {problem}; {_VALUE_FIX}")

        values[:, column] = _parse_floats([row[4 + column] for row in body], fail_at)
    frame = pd.DataFrame({"iso3": np.repeat([row[1].strip() for row in body], len(years)),
                          "year": np.tile(np.asarray(years, dtype=np.int64), len(body)),
                          code: values.reshape(-1)})
    return _BulkFile(code, frame, names, {k: f"{path.name} {v}" for k, v in where.items()}, updated)


def _read_bulk(path: Path, wanted: list[str] | None) -> tuple[_Panel, list[Path]]:
    """A bulk folder (every ``API_*.csv`` in it) or one bulk file, plus any Metadata_Country file beside it."""
    folder = path if path.is_dir() else path.parent
    candidates: dict[str, Path] = {}
    metadata = sorted(folder.glob("Metadata_Country_*.csv"))
    if path.is_dir():
        for item in sorted(folder.iterdir()):
            if item.name.startswith("API_") and item.suffix.lower() == ".csv" and item.is_file():
                match = _BULK_NAME.match(item.name)
                code = match.group(1) if match else _read_bulk_file(item).code
                if code in candidates:
                    raise DataError(f"{folder}: two files for indicator {code} ({candidates[code].name}, "
                                    f"{item.name}); keep one of them")
                candidates[code] = item
            elif item not in metadata:
                logger.info("%s: skipping %s (not an API_<CODE>_DS2_*.csv bulk file)", folder, item.name)
        if not candidates:
            raise DataError(f"{folder}: no API_<CODE>_DS2_*.csv files in this folder; download the CSV of each "
                            "indicator from data.worldbank.org into it, or pass a tidy CSV")
    else:
        match = _BULK_NAME.match(path.name)
        candidates[match.group(1) if match else _read_bulk_file(path).code] = path
    read, output, derived = _plan(wanted, list(candidates), str(path),
                                  "drop {code} from indicators or add its API_{code}_DS2_*.csv to the folder")
    files = [_read_bulk_file(candidates[code]) for code in read]
    frame = files[0].frame
    for item in files[1:]:
        frame = frame.merge(item.frame, on=["iso3", "year"], how="outer")
    names, where = {}, {}
    for item in files:
        for iso3, name in item.names.items():
            names.setdefault(iso3, name)
            where.setdefault(iso3, item.where[iso3])
    panel = _Panel(f"bulk:{path}", str(path), frame, names, where, {f.code: f.updated for f in files},
                   output, derived)
    return panel, metadata


# --- source 3: the live API -----------------------------------------------------------------------------


class _ApiMessage(DataError):
    """The API answered with an error message instead of data (e.g. an unknown indicator code)."""


def _default_cache_dir() -> Path:
    return Path(os.environ.get("MARLLOC_CACHE") or Path.home() / ".cache" / "marlloc" / "wdi")


def _download(url: str, timeout_s: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "marlloc-wdi/0.1", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code} {_reason(exc.reason)}" if exc.reason else f"HTTP {exc.code}"
        exc.close()  # the error holds the open response; close it or the socket leaks
    except TimeoutError:
        reason = f"no answer within timeout_s={timeout_s:g}"
    except urllib.error.URLError as exc:
        timed_out = isinstance(exc.reason, TimeoutError)
        reason = f"no answer within timeout_s={timeout_s:g}" if timed_out else _reason(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        reason = f"{type(exc).__name__}: {_reason(exc)}"
    raise DataError(f"World Bank API unreachable at {url} ({reason}); {_LIVE_FIX}")


def _get_json(url: str, cache_dir: Path, timeout_s: float, refresh: bool) -> object:
    """The JSON at ``url``: from the on-disk cache unless ``refresh``, else downloaded and cached raw."""
    cached = cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"
    if not refresh and cached.is_file():
        try:
            return json.loads(cached.read_bytes())
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable cache file %s (%s); downloading again", cached, _reason(exc))
    body = _download(url, timeout_s)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DataError(f"World Bank API at {url} did not answer JSON ({_reason(exc)}); "
                        f"check base_url (it ends in /v2) or {_LIVE_FIX}") from None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as handle:
            handle.write(body)
        os.replace(handle.name, cached)  # atomic: a crash never leaves half a response in the cache
    except OSError as exc:
        logger.warning("cannot write the WDI cache in %s (%s); continuing without it", cache_dir, _reason(exc))
    return data


class _Live:
    """World Bank API v2 client: paged JSON, cached on disk, stdlib only."""

    def __init__(self, base_url: str, per_page: int, timeout_s: float, cache_dir: Path, refresh: bool):
        self.base_url, self.per_page, self.timeout_s = base_url.rstrip("/"), per_page, timeout_s
        self.cache_dir, self.refresh = cache_dir, refresh

    def pages(self, path: str, query: str) -> tuple[dict, list]:
        """Every page of ``{base_url}/{path}?{query}``: (first page's header, all rows)."""
        first, rows, page, pages = None, [], 1, 1
        while page <= pages:
            url = f"{self.base_url}/{path}?{query}&page={page}"
            data = _get_json(url, self.cache_dir, self.timeout_s, self.refresh)
            if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) and "message" in data[0]:
                messages = data[0]["message"] if isinstance(data[0]["message"], list) else [data[0]["message"]]
                text = "; ".join(" ".join(str(m.get(k, "")) for k in ("id", "key", "value")).strip()
                                 if isinstance(m, dict) else str(m) for m in messages)
                raise _ApiMessage(f"World Bank API error at {url}: {_reason(text)}; check the indicator code "
                                  "(https://data.worldbank.org/indicator) and base_url")
            if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], dict)
                    and isinstance(data[1], list | None)):
                raise DataError(f"World Bank API at {url} answered {_show(data, 60)}, not [header, rows]; "
                                f"check base_url (it ends in /v2) or {_LIVE_FIX}")
            try:
                pages = int(data[0].get("pages") or 1)
            except (TypeError, ValueError):
                raise DataError(f"World Bank API at {url}: header field 'pages' is {_show(data[0].get('pages'))}, "
                                f"not a number; check base_url or {_LIVE_FIX}") from None
            first = first or data[0]
            rows += data[1] or []
            page += 1
        return first or {}, rows

    def countries(self) -> _Meta:
        url = f"{self.base_url}/country"
        _, rows = self.pages("country", "format=json&per_page=400")
        entries = []
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise DataError(f"World Bank API at {url}: country entry {_show(row, 60)} has no 'id'; "
                                f"check base_url or {_LIVE_FIX}")
            region, income = row.get("region") or {}, row.get("incomeLevel") or {}
            entries.append((row["id"].strip(), row.get("name"), region.get("value"), income.get("value")))
        return _meta_from_rows(url, entries)

    def indicator(self, code: str, span: tuple[int, int] | None) -> tuple[pd.DataFrame, dict, dict, str]:
        """(frame iso3, year, <code>; names; where; vintage) for one indicator, every page."""
        query = "format=json" + (f"&date={span[0]}:{span[1]}" if span else "") + f"&per_page={self.per_page}"
        path = f"country/all/indicator/{code}"
        url = f"{self.base_url}/{path}"
        header, rows = self.pages(path, query)
        iso3s, years, values, names, where, seen = [], [], [], {}, {}, set()
        no_code = 0
        for row in rows:
            try:
                iso3, date, value = row["countryiso3code"], row["date"], row["value"]
                year = int(date)
            except (TypeError, KeyError, ValueError):
                raise DataError(f"World Bank API at {url}: row {_show(row, 60)} lacks countryiso3code, a year "
                                f"'date' or 'value'; check base_url or {_LIVE_FIX}") from None
            if not iso3:  # a few API aggregates have no ISO3 code at all
                no_code += 1
                continue
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise DataError(f"World Bank API at {url}: value {_show(value)} for {iso3} {year} is not a number; "
                                "report it or load a file instead")
            if (iso3, year) in seen:
                raise DataError(f"World Bank API at {url}: {iso3} {year} appears twice; refetch with refresh=True")
            seen.add((iso3, year))
            iso3s.append(iso3)
            years.append(year)
            values.append(np.nan if value is None else float(value))
            country = row.get("country") or {}
            names.setdefault(iso3, str(country.get("value") or "").strip())
            where.setdefault(iso3, f"indicator {code}")
        if no_code:
            logger.info("%s: dropped %d rows without an ISO3 code (API aggregates)", url, no_code)
        frame = pd.DataFrame({"iso3": pd.Series(iso3s, dtype=object), "year": np.asarray(years, dtype=np.int64),
                              code: np.asarray(values, dtype=np.float64)})
        return frame, names, where, str(header.get("lastupdated") or "unknown (no lastupdated in the API header)")

    def read(self, wanted: list[str] | None, span: tuple[int, int] | None) -> _Panel:
        output = list(wanted or DEFAULT_INDICATORS)
        parts: dict[str, tuple[pd.DataFrame, dict, dict, str]] = {}
        derived = []
        for code in output:
            try:
                parts[code] = self.indicator(code, span)
            except _ApiMessage as exc:
                if code != TRADE_BALANCE:
                    raise
                logger.info("%s; deriving %s as %s − %s", exc, TRADE_BALANCE, EXPORTS, IMPORTS)
                derived.append(code)
        for code in (EXPORTS, IMPORTS) if derived else ():
            if code not in parts:
                parts[code] = self.indicator(code, span)
        frame, names, where = None, {}, {}
        for part, part_names, part_where, _ in parts.values():
            frame = part if frame is None else frame.merge(part, on=["iso3", "year"], how="outer")
            for iso3, name in part_names.items():
                names.setdefault(iso3, name)
                where.setdefault(iso3, part_where[iso3])
        vintage = {code: part[3] for code, part in parts.items()}
        return _Panel(f"live:{self.base_url}", self.base_url, frame, names, where, vintage, output, derived)


# --- shared clean-up ------------------------------------------------------------------------------------


def _finish(panel: _Panel, meta: _Meta | None, allowed_years: set[int] | None) -> pd.DataFrame:
    """Drop aggregates and out-of-range years, derive, check, attach metadata: the one output format."""
    frame, label = panel.frame, panel.label
    meta_economies = meta.economies if meta else {}

    # --- aggregates and unknown codes ---
    codes = list(dict.fromkeys(frame["iso3"].tolist()))
    aggregates = {c for c in codes if c not in meta_economies
                  and (c in WB_AGGREGATES or (meta is not None and c in meta.aggregates))}
    if meta is not None:
        for code in codes:
            if code not in meta_economies and code not in aggregates:
                raise DataError(f"{label}: country code {code} ({panel.where.get(code, 'somewhere')}) is neither an "
                                f"economy in {meta.label} nor a World Bank aggregate; fix the code or add it to "
                                "the countries file")
    if aggregates:
        is_aggregate = frame["iso3"].isin(aggregates)
        logger.info("%s: dropped %d rows of %d aggregates (%s)", label, int(is_aggregate.sum()), len(aggregates),
                    ", ".join(sorted(aggregates)[:8]) + (", ..." if len(aggregates) > 8 else ""))
        frame = frame.loc[~is_aggregate]

    # --- years ---
    if allowed_years is not None:
        in_range = frame["year"].isin(allowed_years)
        if not in_range.all():
            logger.info("%s: dropped %d country-year rows outside the requested years", label,
                        int((~in_range).sum()))
        frame = frame.loc[in_range]

    # --- derived columns ---
    if panel.derived:
        frame = frame.assign(**{TRADE_BALANCE: frame[EXPORTS] - frame[IMPORTS]})
        logger.info("%s: %s derived as %s − %s (not read from the source)", label, TRADE_BALANCE, EXPORTS, IMPORTS)

    # --- every indicator must hold data ---
    for code in panel.output:
        if not frame[code].notna().any():
            where = "" if allowed_years is None else f" in years {min(allowed_years)}–{max(allowed_years)}"
            raise DataError(f"{label}: indicator {code} has no values for any economy{where}; drop it from "
                            "indicators or use a source (or years) where it has data")
    values = frame[panel.output]
    empty = values.isna().all(axis=1)
    if empty.any():
        logger.info("%s: dropped %d country-years with no value in any requested indicator", label,
                    int(empty.sum()))
    frame = frame.loc[~empty].sort_values(["iso3", "year"], kind="stable")

    # --- metadata columns ---
    if meta is None:
        logger.warning("%s: no country metadata (pass countries='wdi_countries.csv'); region and income_group "
                       "are NA and only the built-in aggregate list is dropped", label)
    iso3 = frame["iso3"].tolist()
    described = [meta_economies.get(c, (None, None, None)) for c in iso3]
    out = pd.DataFrame({
        "iso3": pd.Series(iso3, dtype=_TEXT),
        "country_name": pd.Series([d[0] or panel.names.get(c) or None for c, d in zip(iso3, described, strict=True)],
                                  dtype=_TEXT),
        "region": pd.Series([d[1] for d in described], dtype=_TEXT),
        "income_group": pd.Series([d[2] for d in described], dtype=_TEXT),
        "year": frame["year"].to_numpy(dtype=np.int64),
        **{code: frame[code].to_numpy(dtype=np.float64) for code in panel.output},
    })
    out.attrs = {"source": panel.source,
                 "vintage": {c: panel.vintage.get(c, "") for c in panel.output if c not in panel.derived},
                 "derived": list(panel.derived)}
    v_exp, v_imp = panel.vintage.get(EXPORTS), panel.vintage.get(IMPORTS)
    for code in panel.derived:
        out.attrs["vintage"][code] = (f"derived: {EXPORTS} − {IMPORTS} ({v_exp})" if v_exp == v_imp else
                                      f"derived: {EXPORTS} ({v_exp}) − {IMPORTS} ({v_imp})")
    return out


# --- public API -----------------------------------------------------------------------------------------


def load_wdi(
    source: str | os.PathLike,
    indicators: Iterable[str] | None = None,
    years: tuple[int, int] | Iterable[int] | None = None,
    *,
    countries: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    base_url: str = DEFAULT_BASE_URL,
    per_page: int = 20000,
    timeout_s: float = 30.0,
    refresh: bool = False,
) -> pd.DataFrame:
    """Load a WDI panel from a tidy CSV, World Bank bulk files or the live API, as one tidy frame.

    ``source``:

    - a tidy CSV path: columns ``iso3, year`` and one per WDI code (optionally ``country_name``), like
      ``wdi_snapshot.csv``; country metadata from ``countries=`` or a ``wdi_countries.csv`` beside it.
    - a folder of World Bank bulk files (``API_<CODE>_DS2_*.csv``; other files are skipped with a log
      line), or one such file; metadata from ``countries=`` or a ``Metadata_Country_*.csv`` beside them.
    - ``"live"``: the World Bank API v2 at ``base_url`` (``per_page`` rows a page, every page followed,
      ``timeout_s`` per request), metadata from its ``/country`` endpoint. Raw responses are cached in
      ``cache_dir`` (default ``$MARLLOC_CACHE``, else ``~/.cache/marlloc/wdi``) keyed by URL, so a
      cached load needs no network; ``refresh=True`` downloads again.

    ``indicators``: WDI codes in output order; None = every code of :data:`INDICATORS` the source holds
    (live: :data:`DEFAULT_INDICATORS`). ``NE.RSB.GNFS.ZS`` missing from the source is derived as
    ``NE.EXP.GNFS.ZS − NE.IMP.GNFS.ZS`` when both are there. ``years``: None (all), an inclusive
    ``(first, last)`` tuple, or any other iterable of years (e.g. a list of two separate years).

    Returns columns ``iso3, country_name, region, income_group, year`` (text, text, text or NA, text or
    NA, int64) then one float64 column per indicator; one row per economy-year with at least one value,
    sorted by (iso3, year); aggregates dropped. ``attrs``: ``source`` ("tidy:PATH", "bulk:PATH",
    "live:URL"), ``vintage`` (code -> World Bank last-updated date) and ``derived`` (computed codes).

    Raises DataError (one line: file, line, column or indicator, the rule, the fix) for a missing file,
    missing columns, non-numeric cells, an indicator with no values, duplicate country-years, a country
    code that metadata does not know, and an unreachable API, HTTP error, API error message or timeout.
    """
    wanted = _check_indicators(indicators)
    allowed_years, span = _check_years(years)
    check(isinstance(per_page, int) and per_page >= 1, "per_page", "be an integer ≥ 1", per_page,
          "the API allows up to 32500; try per_page=20000")
    check(timeout_s > 0, "timeout_s", "be > 0", timeout_s, "try timeout_s=30")
    meta = _read_countries_csv(Path(countries)) if countries is not None else None

    if isinstance(source, str) and source == "live":
        check(base_url.startswith(("http://", "https://")), "base_url", "start with http:// or https://",
              base_url, f"e.g. base_url={DEFAULT_BASE_URL!r}")
        live = _Live(base_url, per_page, timeout_s, Path(cache_dir) if cache_dir else _default_cache_dir(), refresh)
        if meta is None:
            meta = live.countries()
        panel = live.read(wanted, span)
        return _finish(panel, meta, allowed_years)

    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (working directory {Path.cwd()}); check the path, "
                        "or use 'live' for the World Bank API")
    if path.is_dir() or _is_bulk_file(path):
        panel, metadata = _read_bulk(path, wanted)
        if meta is None and metadata:
            meta = _read_bulk_metadata(metadata)
    else:
        panel = _read_tidy(path, wanted)
        beside = path.parent / "wdi_countries.csv"
        if meta is None and beside.is_file() and beside.resolve() != path.resolve():
            meta = _read_countries_csv(beside)
    return _finish(panel, meta, allowed_years)


SYNTHETIC_NOTE = "SYNTHETIC panel from synthetic_wdi(): NOT real World Bank data; load_wdi(PATH or 'live') for real data"

_SYNTHETIC_PREFIXES = "STUVWXYZ"  # S01..S99, then T01..: always 3 characters, never a real code

_INCOME_CUTOFFS = ((1_145.0, "Low income"), (4_515.0, "Lower middle income"), (14_005.0, "Upper middle income"),
                   (math.inf, "High income"))


def _ar1(rng: np.random.Generator, mean: np.ndarray, rho: float, sd: float, n_years: int) -> np.ndarray:
    """[n, n_years] AR(1) paths around per-country ``mean``: x_t = mean + rho (x_{t-1} - mean) + N(0, sd²)."""
    out = np.empty((mean.size, n_years))
    previous = mean + rng.normal(0.0, sd / math.sqrt(1 - rho**2), mean.size)  # start in the stationary law
    for t in range(n_years):
        previous = mean + rho * (previous - mean) + rng.normal(0.0, sd, mean.size)
        out[:, t] = previous
    return out


def synthetic_wdi(n_countries: int = 40, years: tuple[int, int] = (2000, 2024), seed: int = 0) -> pd.DataFrame:
    """A synthetic WDI panel in :func:`load_wdi`'s format: the embedded default when no data is given.

    NOT REAL DATA. Every output says so: ``attrs["source"] == "synthetic"``, region "Synthetic", names
    "Synthetic economy S01", codes "S01", ..., "S99", "T01", ... and ``attrs["note"]``. Columns are
    :data:`DEFAULT_INDICATORS`. Per economy i and year t (T years), with N = normal, LN = log-normal,
    AR(ρ, σ) = AR(1) around the economy's mean, started in its stationary law:

    - GDP growth ``NY.GDP.MKTP.KD.ZG`` (%): AR(0.4, 2.5) around μ_i ~ N(3.5, 1.5), clipped to [-15, 20].
    - population growth ``SP.POP.GROW`` (%): p_i − 0.03 t + N(0, 0.2), p_i ~ N(1.3, 1.0) clipped to [-1, 4].
    - GDP per capita ``NY.GDP.PCAP.KD`` (2015 US$): log of the first year ~ N(8.6, 1.2) clipped to
      [log 300, log 100 000], then grows by (1 + growth) / (1 + population growth) each year.
    - population ``SP.POP.TOTL``: first year exp(N(15.5, 2.0)) clipped to [5e4, 1.5e9], then compounds
      population growth; rounded to whole persons.
    - health ``SH.XPD.CHEX.GD.ZS``: 2 + 8 Beta(2, 3) + N(0, 0.3), in [1, 20]; education
      ``SE.XPD.TOTL.GD.ZS``: 1.5 + 5 Beta(3, 3) + N(0, 0.2), in [0.5, 10] (% of GDP).
    - fixed capital formation ``NE.GDI.FTOT.ZS``: N(22, 5) + N(0, 2) in [5, 50]; capital formation
      ``NE.GDI.TOTL.ZS`` = that + inventories N(1, 1.5), in [5, 60] (% of GDP).
    - FDI ``BX.KLT.DINV.WD.GD.ZS``: LN(0.8, 0.8) + N(0, 2) (% of GDP; may be negative).
    - unemployment ``SL.UEM.TOTL.ZS``: AR(0.8, 0.8) around LN(1.8, 0.5), in [0.5, 35] (%).
    - inflation ``FP.CPI.TOTL.ZG``: AR(0.6, 2.0) around LN(1.3, 0.6), in [-3, 60] (%).
    - trade balance ``NE.RSB.GNFS.ZS``: N(-3, 6) + N(0, 2) (% of GDP).
    - income group: the World Bank FY2025 GNI cut-offs (1 145 / 4 515 / 14 005 US$) applied to the
      economy's last-year GDP per capita.
    - missing cells: each (economy, year, indicator) cell is empty with probability 0.03, independently
      (the first economy's first year is kept whole so every column has data), to exercise imputation.

    Deterministic in ``seed`` (stream ``numpy_rng(seed, "synthetic_wdi")``).
    """
    check(isinstance(n_countries, int) and 1 <= n_countries <= 99 * len(_SYNTHETIC_PREFIXES), "n_countries",
          f"be an integer in [1, {99 * len(_SYNTHETIC_PREFIXES)}]", n_countries, "try n_countries=40")
    first, last = years
    check(first <= last, "years", "be an inclusive (first, last) pair with first ≤ last", years,
          "try years=(2000, 2024)")
    rng = numpy_rng(seed, "synthetic_wdi")
    n, n_years = n_countries, last - first + 1
    t = np.arange(n_years)

    growth = _ar1(rng, rng.normal(3.5, 1.5, n), 0.4, 2.5, n_years).clip(-15, 20)
    pop_growth = rng.normal(1.3, 1.0, n).clip(-1, 4)[:, None] - 0.03 * t + rng.normal(0, 0.2, (n, n_years))
    log_gdp0 = rng.normal(8.6, 1.2, n).clip(math.log(300), math.log(100_000))
    gdp_pc = np.exp(log_gdp0)[:, None] * np.cumprod((1 + growth / 100) / (1 + pop_growth / 100), axis=1)
    population = np.round(np.exp(rng.normal(15.5, 2.0, n)).clip(5e4, 1.5e9)[:, None]
                          * np.cumprod(1 + pop_growth / 100, axis=1))
    health = ((2 + 8 * rng.beta(2, 3, n))[:, None] + rng.normal(0, 0.3, (n, n_years))).clip(1, 20)
    education = ((1.5 + 5 * rng.beta(3, 3, n))[:, None] + rng.normal(0, 0.2, (n, n_years))).clip(0.5, 10)
    fixed_capital = (rng.normal(22, 5, n)[:, None] + rng.normal(0, 2, (n, n_years))).clip(5, 50)
    capital = (fixed_capital + rng.normal(1, 1.5, (n, n_years))).clip(5, 60)
    fdi = rng.lognormal(0.8, 0.8, n)[:, None] + rng.normal(0, 2, (n, n_years))
    unemployment = _ar1(rng, rng.lognormal(1.8, 0.5, n), 0.8, 0.8, n_years).clip(0.5, 35)
    inflation = _ar1(rng, rng.lognormal(1.3, 0.6, n), 0.6, 2.0, n_years).clip(-3, 60)
    trade = rng.normal(-3, 6, n)[:, None] + rng.normal(0, 2, (n, n_years))
    series = {"NY.GDP.PCAP.KD": gdp_pc, "SP.POP.GROW": pop_growth, "SH.XPD.CHEX.GD.ZS": health,
              "SE.XPD.TOTL.GD.ZS": education, "NE.GDI.FTOT.ZS": fixed_capital, "BX.KLT.DINV.WD.GD.ZS": fdi,
              "NY.GDP.MKTP.KD.ZG": growth, "NE.GDI.TOTL.ZS": capital, "SL.UEM.TOTL.ZS": unemployment,
              "FP.CPI.TOTL.ZG": inflation, "NE.RSB.GNFS.ZS": trade, "SP.POP.TOTL": population}
    missing = rng.random((len(series), n, n_years)) < 0.03
    missing[:, 0, 0] = False

    iso3 = [f"{_SYNTHETIC_PREFIXES[i // 99]}{i % 99 + 1:02d}" for i in range(n)]
    income = [next(name for cutoff, name in _INCOME_CUTOFFS if value < cutoff) for value in gdp_pc[:, -1]]
    frame = pd.DataFrame({"iso3": np.repeat(iso3, n_years),
                          "year": np.tile(np.arange(first, last + 1, dtype=np.int64), n),
                          **{code: np.where(missing[k], np.nan, values).reshape(-1)
                             for k, (code, values) in enumerate(series.items())}})
    meta = _meta_from_rows("synthetic", ((c, f"Synthetic economy {c}", "Synthetic", g)
                                         for c, g in zip(iso3, income, strict=True)))
    panel = _Panel("synthetic", "synthetic_wdi", frame, {}, {}, dict.fromkeys(series, "synthetic (not real data)"),
                   list(DEFAULT_INDICATORS), [])
    out = _finish(panel, meta, None)
    out.attrs["note"] = SYNTHETIC_NOTE
    return out


def wdi_coverage(frame: pd.DataFrame) -> pd.DataFrame:
    """Per indicator column of a :func:`load_wdi` frame: how much data it holds.

    Columns: ``code``, ``name`` (short name, or the code for a series not in :data:`INDICATORS`),
    ``countries`` (economies with ≥ 1 value), ``first_year``/``last_year`` with a value (NA if none),
    ``values`` (non-missing cells) and ``missing_share``: 1 − values / (economies × years of the frame),
    i.e. over the full economy × year grid, counting the country-years with no row as missing.
    """
    missing_columns = [c for c in ("iso3", "year") if c not in frame.columns]
    if missing_columns:
        raise DataError(f"frame has no {missing_columns[0]!r} column; pass a frame from load_wdi or synthetic_wdi")
    codes = [c for c in frame.columns if c not in ID_COLUMNS]
    grid = frame["iso3"].nunique() * frame["year"].nunique()
    rows = []
    for code in codes:
        has = frame[code].notna()
        years_with = frame.loc[has, "year"]
        rows.append({"code": code, "name": INDICATORS[code].name if code in INDICATORS else code,
                     "countries": int(frame.loc[has, "iso3"].nunique()),
                     "first_year": int(years_with.min()) if has.any() else None,
                     "last_year": int(years_with.max()) if has.any() else None,
                     "values": int(has.sum()),
                     "missing_share": 1.0 - float(has.sum()) / grid if grid else 1.0})
    out = pd.DataFrame(rows, columns=["code", "name", "countries", "first_year", "last_year", "values",
                                      "missing_share"])
    return out.astype({"first_year": "Int64", "last_year": "Int64"})


__all__ = ["DEFAULT_BASE_URL", "DEFAULT_INDICATORS", "INDICATORS", "WB_AGGREGATES", "Indicator", "load_wdi",
           "synthetic_wdi", "wdi_coverage"]
