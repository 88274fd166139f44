"""Tests for marlloc.data.worldbank: one WDI frame from a tidy CSV, World Bank bulk files and the live API.

One small fixture panel (5 economies, 2 aggregates, 4 indicators, 2018-2022, some nulls) is written as a tidy
CSV, as bulk-layout files and served as API-shaped JSON by a loopback HTTP server; the three loads must give
identical frames. Real files are read in place from ``shared/data/worldbank`` (tests skip without it).
"""

from __future__ import annotations

import csv
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from marlloc.cli import main
from marlloc.core.errors import ConfigError, DataError
from marlloc.data import DEFAULT_INDICATORS, INDICATORS, load_wdi, synthetic_wdi, wdi_coverage
from marlloc.data.worldbank import ID_COLUMNS, WB_AGGREGATES

# --- the fixture panel ----------------------------------------------------------------------------------

ECONOMIES = {  # iso3 -> (name, region, income group or None)
    "ARG": ("Argentina", "Latin America & Caribbean", "Upper middle income"),
    "ETH": ("Ethiopia", "Sub-Saharan Africa", None),
    "FRA": ("France", "Europe & Central Asia", "High income"),
    "KEN": ("Kenya", "Sub-Saharan Africa", "Lower middle income"),
    "NPL": ("Nepal", "South Asia", "Lower middle income"),
}
AGGREGATES = {"WLD": "World", "EAS": "East Asia & Pacific"}
CODES = ("NY.GDP.PCAP.KD", "SP.POP.GROW", "NE.EXP.GNFS.ZS", "NE.IMP.GNFS.ZS")
YEARS = range(2018, 2023)
UPDATED = "2025-12-19"
NULLS = {("ETH", 2019, "NY.GDP.PCAP.KD"), ("KEN", 2022, "NE.EXP.GNFS.ZS"), ("ARG", 2020, "SP.POP.GROW"),
         ("FRA", 2021, "NE.IMP.GNFS.ZS")}
EMPTY_ROW = ("NPL", 2018)  # a country-year with no value at all: must be dropped (and logged)


def _values() -> dict[tuple[str, int, str], float | None]:
    rng = np.random.default_rng(7)
    scale = {"NY.GDP.PCAP.KD": 20_000.0, "SP.POP.GROW": 3.0, "NE.EXP.GNFS.ZS": 60.0, "NE.IMP.GNFS.ZS": 60.0}
    out = {}
    for iso3 in [*ECONOMIES, *AGGREGATES]:
        for year in YEARS:
            for code in CODES:
                value = round(float(rng.uniform(0.05, 1.0) * scale[code]), 6)
                nulled = (iso3, year, code) in NULLS or (iso3, year) == EMPTY_ROW
                out[iso3, year, code] = None if nulled else value
    return out


VALUES = _values()
NAMES = {iso3: ECONOMIES[iso3][0] if iso3 in ECONOMIES else AGGREGATES[iso3] for iso3 in [*ECONOMIES, *AGGREGATES]}


def _text(value: float | None) -> str:
    return "" if value is None else repr(value)


def write_countries(path: Path, extra: str = "") -> Path:
    lines = ["iso3,country_name,region,income_group"]
    lines += [f"{iso3},{name},{region},{income or ''}" for iso3, (name, region, income) in ECONOMIES.items()]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def write_tidy(folder: Path, codes=CODES, with_countries: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "wdi.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["country_name", "iso3", "year", *codes])
        for iso3 in NAMES:
            for year in YEARS:
                writer.writerow([NAMES[iso3], iso3, year, *(_text(VALUES[iso3, year, c]) for c in codes)])
    if with_countries:
        write_countries(folder / "wdi_countries.csv")
    return folder / "wdi.csv"


def _bulk_line(cells: list[str]) -> str:
    return ",".join(f'"{c}"' for c in cells) + ",\r\n"  # quoted cells, a trailing comma, CRLF: as downloaded


def write_bulk(folder: Path, codes=CODES, file_years=range(2016, 2024)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for code in codes:
        text = _bulk_line(["Data Source", "World Development Indicators"]) + "\r\n"
        text += _bulk_line(["Last Updated Date", UPDATED]) + "\r\n"
        text += _bulk_line(["Country Name", "Country Code", "Indicator Name", "Indicator Code",
                            *map(str, file_years)])
        for iso3 in NAMES:
            cells = [_text(VALUES.get((iso3, year, code))) for year in file_years]
            text += _bulk_line([NAMES[iso3], iso3, INDICATORS[code].long_name, code, *cells])
        (folder / f"API_{code}_DS2_en_csv_v2_1.csv").write_text(text, encoding="utf-8-sig")
    meta = _bulk_line(["Country Code", "Region", "IncomeGroup", "SpecialNotes", "TableName"])
    for iso3, (name, region, income) in ECONOMIES.items():
        meta += _bulk_line([iso3, region, income or "", "Fiscal year end: June 30;\nreporting period ...", name])
    for iso3, name in AGGREGATES.items():
        meta += _bulk_line([iso3, "", "", "aggregate", name])
    (folder / "Metadata_Country_API_NY.GDP.PCAP.KD_DS2_en_csv_v2_1.csv").write_text(meta, encoding="utf-8-sig")
    (folder / "Metadata_Indicator_API_NY.GDP.PCAP.KD_DS2_en_csv_v2_1.csv").write_text(
        _bulk_line(["INDICATOR_CODE", "INDICATOR_NAME"]), encoding="utf-8-sig")
    (folder / "API_NE.GDI.FTOT.ZS_DS2_en_excel_v2_1.xls").write_bytes(b"\xd0\xcf\x11\xe0 not a csv")
    return folder


# --- a loopback World Bank API ---------------------------------------------------------------------------

API_ERROR = [{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]


def _indicator_rows(code: str, date: str | None) -> list[dict]:
    first, last = (int(y) for y in date.split(":")) if date else (min(YEARS), max(YEARS))
    rows = []
    for iso3 in NAMES:
        for year in sorted(YEARS, reverse=True):  # the API lists the latest year first
            if first <= year <= last:
                rows.append({"indicator": {"id": code, "value": INDICATORS[code].long_name},
                             "country": {"id": iso3[:2], "value": NAMES[iso3]}, "countryiso3code": iso3,
                             "date": str(year), "value": VALUES[iso3, year, code], "unit": "", "obs_status": "",
                             "decimal": 1})
    # like the real API, an aggregate row without an ISO3 code
    rows.append({"indicator": {"id": code, "value": ""}, "country": {"id": "XY", "value": "Not an economy"},
                 "countryiso3code": "", "date": str(last), "value": 1.0, "unit": "", "obs_status": "", "decimal": 1})
    return rows


def _country_rows() -> list[dict]:
    rows = [{"id": iso3, "iso2Code": iso3[:2], "name": name, "region": {"id": "X", "value": region + " "},
             "incomeLevel": {"id": "X", "value": income or "Not classified"}}
            for iso3, (name, region, income) in ECONOMIES.items()]
    rows += [{"id": iso3, "iso2Code": "1W", "name": name, "region": {"id": "NA", "value": "Aggregates"},
              "incomeLevel": {"id": "NA", "value": "Aggregates"}} for iso3, name in AGGREGATES.items()]
    return rows


class WorldBankHandler(BaseHTTPRequestHandler):
    """/v2/...: the API; /err/...: an API error message; /slow/...: answers after 1 s; /boom/...: HTTP 500."""

    def do_GET(self):
        self.server.requests.append(self.path)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts[0] == "slow":
            time.sleep(1.0)
            return self._send(200, API_ERROR)
        if parts[0] == "boom":
            return self._send(500, {"oops": True})
        if parts[0] == "err":
            return self._send(200, API_ERROR)
        if parts[1:] == ["country"]:
            rows = _country_rows()
        elif parts[1:4] == ["country", "all", "indicator"] and parts[4] in CODES:
            rows = _indicator_rows(parts[4], query.get("date"))
        else:
            return self._send(200, API_ERROR)
        per_page, page = int(query.get("per_page", 50)), int(query.get("page", 1))
        pages = -(-len(rows) // per_page)
        header = {"page": page, "pages": pages, "per_page": per_page, "total": len(rows), "sourceid": "2",
                  "lastupdated": UPDATED}
        return self._send(200, [header, rows[(page - 1) * per_page: page * per_page]])

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (the timeout test): nothing to answer
            pass

    def log_message(self, *args):  # keep test output clean
        pass


class Api:
    """A running loopback server; ``root`` is its URL, ``stop()`` shuts it down (idempotent)."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), WorldBankHandler)
        self.server.requests = []
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.running = True

    def stop(self):
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.running = False


@pytest.fixture
def api(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # loopback must not go through a proxy
    server = Api()
    yield server
    server.stop()


def live(api_or_url, tmp_path: Path, *args, **kwargs) -> pd.DataFrame:
    base = api_or_url if isinstance(api_or_url, str) else api_or_url.root + "/v2"
    kwargs = {"base_url": base, "per_page": 7, "cache_dir": tmp_path / "cache", "timeout_s": 5.0, **kwargs}
    return load_wdi("live", *args, **kwargs)


def one_line(error: pytest.ExceptionInfo, *words: str) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    return message


WANT = ["NY.GDP.PCAP.KD", "SP.POP.GROW", "NE.RSB.GNFS.ZS"]


# --- the same data from three sources ---------------------------------------------------------------------


def test_tidy_bulk_and_live_give_identical_frames(tmp_path, api, caplog):
    caplog.set_level(logging.INFO, logger="marlloc.data")
    tidy = load_wdi(write_tidy(tmp_path / "tidy"), WANT, (2018, 2022))
    bulk = load_wdi(write_bulk(tmp_path / "bulk"), WANT, (2018, 2022))
    from_api = live(api, tmp_path, WANT, (2018, 2022))
    assert_frame_equal(tidy, bulk)
    assert_frame_equal(tidy, from_api)
    assert any("page=2" in path for path in api.server.requests)  # per_page=7 forces several pages

    assert list(tidy.columns) == [*ID_COLUMNS, *WANT]
    assert set(tidy["iso3"]) == set(ECONOMIES)  # aggregates dropped
    assert (EMPTY_ROW[0], EMPTY_ROW[1]) not in set(zip(tidy["iso3"], tidy["year"], strict=True))
    assert len(tidy) == len(ECONOMIES) * len(YEARS) - 1
    assert tidy["year"].dtype == np.int64 and all(tidy[c].dtype == np.float64 for c in WANT)
    assert tidy.loc[tidy["iso3"] == "ETH", "income_group"].isna().all()
    assert tidy.loc[tidy["iso3"] == "ARG", "region"].eq("Latin America & Caribbean").all()

    for frame in (tidy, bulk, from_api):
        assert frame.attrs["derived"] == ["NE.RSB.GNFS.ZS"]
    expected = [(VALUES[i, y, "NE.EXP.GNFS.ZS"] or np.nan) - (VALUES[i, y, "NE.IMP.GNFS.ZS"] or np.nan)
                for i, y in zip(tidy["iso3"], tidy["year"], strict=True)]
    np.testing.assert_array_equal(tidy["NE.RSB.GNFS.ZS"].to_numpy(), np.array(expected, dtype=float))

    assert tidy.attrs["source"].startswith("tidy:") and bulk.attrs["source"].startswith("bulk:")
    assert from_api.attrs["source"] == f"live:{api.root}/v2"
    assert bulk.attrs["vintage"]["NY.GDP.PCAP.KD"] == from_api.attrs["vintage"]["NY.GDP.PCAP.KD"] == UPDATED
    assert tidy.attrs["vintage"]["SP.POP.GROW"].startswith("unknown (tidy CSV, sha256 ")
    assert any("dropped" in r.message and "aggregates" in r.message for r in caplog.records)
    assert any("no value in any requested indicator" in r.message for r in caplog.records)
    assert any("skipping API_NE.GDI.FTOT.ZS_DS2_en_excel_v2_1.xls" in r.message for r in caplog.records)


def test_all_indicators_and_year_lists_agree_across_files(tmp_path):
    tidy = load_wdi(write_tidy(tmp_path / "tidy"), None, [2018, 2021])
    bulk = load_wdi(write_bulk(tmp_path / "bulk"), None, [2018, 2021])
    assert_frame_equal(tidy, bulk)
    assert list(tidy.columns[5:]) == [c for c in INDICATORS if c in CODES]  # INDICATORS order, no derivation
    assert set(tidy["year"]) == {2018, 2021} and tidy.attrs["derived"] == []


def test_single_bulk_file_and_live_with_default_years(tmp_path, api):
    folder = write_bulk(tmp_path / "bulk", codes=("SP.POP.GROW",))
    one = load_wdi(folder / "API_SP.POP.GROW_DS2_en_csv_v2_1.csv")
    assert list(one.columns[5:]) == ["SP.POP.GROW"] and one["region"].notna().all()
    from_api = live(api, tmp_path, ["SP.POP.GROW"])
    assert_frame_equal(one, from_api)
    assert not any("date=" in path for path in api.server.requests)  # no years: the API's full range


def test_cache_serves_a_second_load_without_network(tmp_path, api):
    first = live(api, tmp_path, WANT, (2019, 2021))
    assert list((tmp_path / "cache").glob("*.json"))
    api.stop()
    assert_frame_equal(live(api, tmp_path, WANT, (2019, 2021)), first)
    with pytest.raises(DataError) as error:
        live(api, tmp_path, WANT, (2019, 2021), refresh=True)
    one_line(error, "World Bank API unreachable at", api.root, "load_wdi('wdi.csv')")


@pytest.mark.parametrize(("base", "kwargs", "words"), [
    ("/err/v2", {}, ["World Bank API error", "120 Invalid value"]),
    ("/boom/v2", {}, ["unreachable", "HTTP 500"]),
    ("/slow/v2", {"timeout_s": 0.2}, ["unreachable", "timeout_s=0.2"]),
])
def test_api_failures_are_one_line_errors(tmp_path, api, base, kwargs, words):
    with pytest.raises(DataError) as error:
        live(api.root + base, tmp_path, WANT, (2018, 2022), **kwargs)
    one_line(error, api.root + base, *words)


def test_live_unknown_indicator_names_it(tmp_path, api):
    with pytest.raises(DataError) as error:
        live(api, tmp_path, ["SP.POP.TOTL"])
    one_line(error, "indicator/SP.POP.TOTL", "Invalid value")


def test_aggregates_without_metadata_and_from_metadata(tmp_path, caplog):
    path = write_tidy(tmp_path / "plain", with_countries=False)
    with caplog.at_level(logging.WARNING, logger="marlloc.data"):
        frame = load_wdi(path, ["SP.POP.GROW"])
    assert set(frame["iso3"]) == set(ECONOMIES) and frame["region"].isna().all()
    assert any("no country metadata" in r.message for r in caplog.records)
    # an aggregate only the metadata knows (empty region) is dropped too
    countries = write_countries(tmp_path / "countries.csv", extra="ZZA,Some club,,\n")
    text = path.read_text() + "Some club,ZZA,2019,,1.5,,\n"
    path.write_text(text)
    frame = load_wdi(path, ["SP.POP.GROW"], countries=countries)
    assert "ZZA" not in set(frame["iso3"]) and frame["region"].notna().all()


# --- bad data -------------------------------------------------------------------------------------------


def _tidy_text(tmp_path: Path, header: str, *rows: str) -> Path:
    write_countries(tmp_path / "wdi_countries.csv")
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("header", "rows", "indicators", "words"), [
    ("iso3,NY.GDP.PCAP.KD", ["ARG,1.0"], None, ["column 'year' missing"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019,1.0", "ARG,2020,abc"], None,
     ["line 3", "'SP.POP.GROW'", "'abc', not a number"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019,inf"], None, ["line 2", "not a finite number"]),
    ("iso3,year,SP.POP.GROW", ["ARG,20x9,1.0"], None, ["line 2", "'year'", "integer"]),
    ("iso3,year,SP.POP.GROW", ["Argentina,2019,1.0"], None, ["line 2", "3-character"]),
    ("iso3,year,SP.POP.GROW,SP.POP.TOTL", ["ARG,2019,1.0,", "FRA,2019,0.5,"], ["SP.POP.GROW", "SP.POP.TOTL"],
     ["indicator SP.POP.TOTL has no values"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019,1.0", "FRA,2019,2.0", "ARG,2019,1.5"], None,
     ["ARG 2019 appears on line 2 and line 4", "one row per country-year"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019,1.0", "ZZZ,2019,2.0"], None,
     ["country code ZZZ", "line 3", "neither an economy", "wdi_countries.csv"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019,1.0"], ["SH.XPD.GHED.GD.ZS"],
     ["indicator SH.XPD.GHED.GD.ZS not found", "add a SH.XPD.GHED.GD.ZS column"]),
    ("iso3,year,NE.EXP.GNFS.ZS", ["ARG,2019,1.0"], ["NE.RSB.GNFS.ZS"], ["indicator NE.RSB.GNFS.ZS not found"]),
    ("iso3,year,notes", ["ARG,2019,x"], None, ["no known WDI indicator"]),
    ("iso3,year,SP.POP.GROW", ["ARG,2019"], None, ["line 2 has 2 fields but the header has 3"]),
])
def test_bad_tidy_files(tmp_path, header, rows, indicators, words):
    path = _tidy_text(tmp_path, header, *rows)
    with pytest.raises(DataError) as error:
        load_wdi(path, indicators)
    one_line(error, str(path), *words)


def _corrupt_bulk(tmp_path: Path, old: str, new: str, code: str = "SP.POP.GROW") -> Path:
    folder = write_bulk(tmp_path / "bulk")
    path = folder / f"API_{code}_DS2_en_csv_v2_1.csv"
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")
    return path


@pytest.mark.parametrize(("old", "new", "words"), [
    (f'"{VALUES["FRA", 2019, "SP.POP.GROW"]!r}"', '"n/a"', ["line 8", "column '2019'", "'n/a', not a number"]),
    ('"Kenya","KEN"', '"Kenya","FRA"', ["country FRA appears on line 8 and line 9"]),
    ('"Country Name","Country Code"', '"Economy","Country Code"', ["no 'Country Name,Country Code"]),
    ('"2017","2018"', '"2017","y2018"', ["column 'y2018' is not a year"]),
    ('"Kenya","KEN","Population growth (annual %)","SP.POP.GROW","",', '"Kenya","KEN","",',
     ["line 9 has 11 fields but the header has 12"]),
    ('"Kenya","KEN","Population growth (annual %)","SP.POP.GROW"', '"Kenya","KEN","Population","SP.POP.TOTL"',
     ["line 9 holds indicator 'SP.POP.TOTL'"]),
])
def test_bad_bulk_files(tmp_path, old, new, words):
    path = _corrupt_bulk(tmp_path, old, new)
    with pytest.raises(DataError) as error:
        load_wdi(path.parent, ["SP.POP.GROW"])
    one_line(error, str(path), *words)


def test_bad_bulk_folders(tmp_path):
    folder = write_bulk(tmp_path / "bulk")
    (folder / "API_SP.POP.GROW_DS2_en_csv_v2_2.csv").write_text("x", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_wdi(folder)
    one_line(error, str(folder), "two files for indicator SP.POP.GROW", "keep one")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as error:
        load_wdi(tmp_path / "empty")
    one_line(error, "no API_<CODE>_DS2_*.csv files")
    with pytest.raises(DataError) as error:
        load_wdi(write_bulk(tmp_path / "b2"), ["SP.POP.TOTL"])
    one_line(error, "indicator SP.POP.TOTL not found", "API_SP.POP.TOTL_DS2_*.csv")


def test_bad_countries_file_and_paths(tmp_path):
    tidy = write_tidy(tmp_path / "tidy")
    bad = tmp_path / "countries.csv"
    bad.write_text("iso3,country_name,region\nARG,Argentina,Latin America & Caribbean\n")
    with pytest.raises(DataError) as error:
        load_wdi(tidy, countries=bad)
    one_line(error, str(bad), "column 'income_group' missing")
    with pytest.raises(DataError) as error:
        load_wdi(tmp_path / "nope.csv")
    one_line(error, "nope.csv", "no such file or folder")


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"years": (2022, 2000)}, ["years must be an inclusive (first, last) pair"]),
    ({"years": "2000"}, ["years must be None"]),
    ({"years": [2000.5]}, ["years must hold integer years"]),
    ({"indicators": ["gdp per capita"]}, ["indicators must be WDI codes"]),
    ({"indicators": ["SP.POP.GROW", "SP.POP.GROW"]}, ["must not repeat"]),
    ({"per_page": 0}, ["per_page must be an integer ≥ 1"]),
])
def test_bad_arguments_are_config_errors(tmp_path, kwargs, words):
    with pytest.raises(ConfigError) as error:
        load_wdi(write_tidy(tmp_path), **kwargs)
    one_line(error, *words)


# --- coverage and the synthetic panel --------------------------------------------------------------------


def test_coverage_counts_over_the_country_year_grid(tmp_path):
    frame = load_wdi(write_tidy(tmp_path), ["NY.GDP.PCAP.KD", "SP.POP.GROW"])
    cov = wdi_coverage(frame).set_index("code")
    assert list(cov.columns) == ["name", "countries", "first_year", "last_year", "values", "missing_share"]
    grid = len(ECONOMIES) * len(YEARS)
    gdp = cov.loc["NY.GDP.PCAP.KD"]
    assert gdp["name"] == "gdp_per_capita" and gdp["countries"] == 5
    assert (gdp["first_year"], gdp["last_year"]) == (2018, 2022)
    assert gdp["values"] == grid - 2  # ETH 2019 null, NPL 2018 empty
    assert gdp["missing_share"] == pytest.approx(2 / grid)


def test_synthetic_panel_is_deterministic_labelled_and_in_the_loader_format(tmp_path):
    a, b = synthetic_wdi(12, (2005, 2014), seed=3), synthetic_wdi(12, (2005, 2014), seed=3)
    assert_frame_equal(a, b)
    assert not synthetic_wdi(12, (2005, 2014), seed=4).equals(a)
    assert list(a.columns) == [*ID_COLUMNS, *DEFAULT_INDICATORS]
    assert a.attrs["source"] == "synthetic" and "NOT real" in a.attrs["note"]
    assert a["region"].eq("Synthetic").all() and a["iso3"].iloc[0] == "S01"
    share = wdi_coverage(synthetic_wdi(40)).missing_share
    assert ((share > 0.005) & (share < 0.07)).all()  # ~3 % missing by design
    assert (a["NY.GDP.PCAP.KD"].dropna() > 0).all() and (a["SP.POP.TOTL"].dropna() >= 5e4 * 0.5).all()
    # written as a tidy CSV with its countries file, it loads back to the same frame
    a.drop(columns=["region", "income_group"]).to_csv(tmp_path / "syn.csv", index=False)
    a[["iso3", "country_name", "region", "income_group"]].drop_duplicates().to_csv(
        tmp_path / "wdi_countries.csv", index=False)
    back = load_wdi(tmp_path / "syn.csv", list(DEFAULT_INDICATORS))
    assert_frame_equal(back, a)
    with pytest.raises(ConfigError):
        synthetic_wdi(0)


# --- real data (read in place; skipped without shared/data) ------------------------------------------------


def test_snapshot_loads_with_country_metadata(shared_data):
    folder = shared_data / "worldbank"
    with (folder / "wdi_snapshot.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    codes = [c for c in header if c not in ("country_name", "iso3", "year")]
    assert set(codes) <= set(INDICATORS)
    frame = load_wdi(folder / "wdi_snapshot.csv")
    assert list(frame.columns[5:]) == [c for c in INDICATORS if c in codes]
    assert 150 <= frame["iso3"].nunique() <= 217
    assert not set(frame["iso3"]) & WB_AGGREGATES
    assert frame["region"].notna().all() and frame["country_name"].notna().all()
    assert frame.duplicated(["iso3", "year"]).sum() == 0


def test_bulk_folder_agrees_with_snapshot(shared_data, caplog):
    folder = shared_data / "worldbank"
    codes = ["NY.GDP.PCAP.KD", "BX.KLT.DINV.WD.GD.ZS"]
    with caplog.at_level(logging.INFO, logger="marlloc.data"):
        bulk = load_wdi(folder / "raw" / "wb_bulk", codes, countries=folder / "wdi_countries.csv")
    assert any(".xls" in r.message and "skipping" in r.message for r in caplog.records)
    assert bulk.attrs["vintage"] == {"NY.GDP.PCAP.KD": "2025-12-19", "BX.KLT.DINV.WD.GD.ZS": "2026-02-24"}
    snap = load_wdi(folder / "wdi_snapshot.csv", codes)
    both = bulk.merge(snap, on=["iso3", "year"], suffixes=("_bulk", "_snap"))
    for code in codes:
        pair = both[[f"{code}_bulk", f"{code}_snap"]].dropna()
        assert len(pair) > 3000
        np.testing.assert_array_equal(pair.iloc[:, 0], pair.iloc[:, 1])  # copied unchanged (PROVENANCE.md)


def test_snapshot_derives_the_trade_balance(shared_data):
    path = shared_data / "worldbank" / "wdi_snapshot.csv"
    frame = load_wdi(path, DEFAULT_INDICATORS, (2000, 2022))
    assert frame.attrs["derived"] == ["NE.RSB.GNFS.ZS"] and "derived" in frame.attrs["vintage"]["NE.RSB.GNFS.ZS"]
    trade = load_wdi(path, ["NE.EXP.GNFS.ZS", "NE.IMP.GNFS.ZS"], (2000, 2022))
    merged = frame.merge(trade, on=["iso3", "year"], how="inner")
    expected = merged["NE.EXP.GNFS.ZS"] - merged["NE.IMP.GNFS.ZS"]
    np.testing.assert_array_equal(merged["NE.RSB.GNFS.ZS"], expected)
    assert frame["NE.RSB.GNFS.ZS"].notna().sum() > 3000


# --- CLI --------------------------------------------------------------------------------------------------


def test_cli_inspect_prints_source_vintage_and_coverage(tmp_path, capsys):
    path = write_tidy(tmp_path)
    assert main(["data", "inspect", str(path), "--indicators", "SP.POP.GROW,NE.RSB.GNFS.ZS",
                 "--years", "2018:2021"]) == 0
    out = capsys.readouterr().out
    for word in ("tidy:", "coverage", "SP.POP.GROW", "NE.RSB.GNFS.ZS", "derived", "5 economies", "2018–2021"):
        assert word in out, word
    assert main(["data", "inspect", "--help"]) == 0 and "Usage" in capsys.readouterr().out


def test_cli_inspect_live_and_synthetic(tmp_path, api, capsys):
    assert main(["data", "inspect", "live", "--base-url", api.root + "/v2", "--cache-dir", str(tmp_path),
                 "--indicators", "SP.POP.GROW", "--years", "2019:2020"]) == 0
    assert f"live:{api.root}/v2" in capsys.readouterr().out
    assert main(["data", "inspect", "synthetic"]) == 0
    assert "NOT real" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--years", "20-22"], ["--indicators", "SP.POP.TOTL"], []])
def test_cli_inspect_bad_input_is_one_line_exit_2(tmp_path, capsys, args):
    path = _tidy_text(tmp_path, "iso3,year,SP.POP.GROW", "ARG,2019,abc") if not args else write_tidy(tmp_path)
    assert main(["data", "inspect", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
