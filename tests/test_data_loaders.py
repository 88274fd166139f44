"""Tests for marlloc.data: the EUA topology and time-series loaders.

Real files are read in place from the shared data folder next to the repo (never copied into
it); those tests skip when the folder is absent. Malformed inputs are small CSVs in tmp_path.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from marlloc.core.errors import ConfigError, DataError
from marlloc.data import (
    fluctuation_factor,
    haversine_m,
    load_series,
    load_sites,
    load_user_positions,
    pick_topology,
    rate_multiplier,
)
from marlloc.data.topology import EARTH_RADIUS_M

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EUA = DATA / "eua"
NASA = DATA / "nasa_http_1995" / "nasa_requests_per_minute.csv"
TRACES = DATA / "datacenter_traces_agg"

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data folder {DATA} not present")


def write(tmp_path: Path, text: str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line(exc: pytest.ExceptionInfo[DataError], path: Path, *fragments: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- real files -----------------------------------------------------------------------------


@needs_data
def test_eua_sites_load_melbourne_cbd():
    sites = load_sites(EUA / "site-optus-melbCBD.csv")
    assert sites.shape == (125, 2) and sites.dtype == np.float64
    assert np.all((sites[:, 0] > -37.83) & (sites[:, 0] < -37.80))
    assert np.all((sites[:, 1] > 144.95) & (sites[:, 1] < 144.98))


@needs_data
def test_eua_generated_users_load_inside_cbd():
    users = load_user_positions(EUA / "users-melbcbd-generated.csv")
    assert users.shape == (816, 2) and users.dtype == np.float64
    assert np.all((users[:, 0] > -37.83) & (users[:, 0] < -37.80))
    assert np.all((users[:, 1] > 144.95) & (users[:, 1] < 144.98))


@needs_data
def test_eua_aus_users_layout_loads():
    users = load_user_positions(EUA / "users-aus.csv")
    assert users.shape == (4748, 2)
    assert np.all((users[:, 0] > -44) & (users[:, 0] < -10))
    assert np.all((users[:, 1] > 113) & (users[:, 1] < 154))


@needs_data
def test_sites_loader_rejects_users_file():
    path = EUA / "users-melbcbd-generated.csv"
    with pytest.raises(DataError) as exc:
        load_sites(path)
    assert_one_line(exc, path, "'SITE_ID'", "'Latitude'")


@needs_data
def test_nasa_default_column_drops_server_down_rows(caplog):
    with NASA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    n_down = sum(row["server_down"] == "1" for row in rows)
    expected = np.array([float(row["requests"]) for row in rows if row["server_down"] == "0"])
    assert len(rows) == 84_334 and n_down > 0

    with caplog.at_level(logging.INFO, logger="marlloc.data"):
        series = load_series(NASA)
    assert series.dtype == np.float64
    assert len(series) == len(rows) - n_down
    np.testing.assert_array_equal(series, expected)
    assert any(f"dropped {n_down} of {len(rows)}" in record.getMessage() for record in caplog.records)


@needs_data
def test_alibaba_columns():
    path = TRACES / "alibaba2018_machine_usage_days1-8_300s.csv"
    cpu = load_series(path)
    np.testing.assert_array_equal(cpu, load_series(path, "cpu_util_percent"))
    assert len(cpu) == 2243 and 15 < cpu.min() < cpu.max() < 80
    for column in ("mem_util_percent", "net_in", "net_out", "disk_io_percent"):
        values = load_series(path, column)
        assert len(values) == 2243 and values.max() <= 100


@needs_data
def test_google_default_is_avg_cpu():
    path = TRACES / "google2019_instance_usage_month_300s.csv"
    cpu = load_series(path)
    np.testing.assert_array_equal(cpu, load_series(path, "avg_cpu"))
    assert len(cpu) == 8064 and 0 < cpu.min() < cpu.max() < 1


@needs_data
def test_azure_default_is_timestamp_and_explicit_column_works():
    path = TRACES / "azure_v2_vm_cpu_mem_month_300s.csv"
    # Documented behaviour: the numeric timestamp column is the first numeric column.
    np.testing.assert_array_equal(load_series(path), np.arange(8640) * 300.0)
    cpu = load_series(path, "cpu_usage")
    assert len(cpu) == 8640 and cpu.min() > 0


@needs_data
def test_real_topology_distances_within_cbd():
    sites, users, dist = pick_topology(EUA / "site-optus-melbCBD.csv", EUA / "users-melbcbd-generated.csv",
                                       20, 300, np.random.default_rng(7))
    assert sites.shape == (20, 2) and users.shape == (300, 2) and dist.shape == (300, 20)
    assert len(np.unique(sites, axis=0)) == 20
    assert dist.min() >= 0 and dist.max() < 3_000  # the CBD is about 2 km across


# --- haversine --------------------------------------------------------------------------------


def test_haversine_one_degree_of_latitude():
    d = haversine_m(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))
    assert d.shape == (1, 1)
    assert abs(d[0, 0] - 111_195) < 1


def test_haversine_known_arcs():
    origin = np.array([[0.0, 0.0]])
    far = np.array([[0.0, 90.0], [0.0, 180.0], [90.0, 0.0]])
    arcs = EARTH_RADIUS_M * np.array([math.pi / 2, math.pi, math.pi / 2])
    np.testing.assert_allclose(haversine_m(origin, far)[0], arcs)


def test_haversine_self_zero_and_symmetric():
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-90, 90, 30), rng.uniform(-180, 180, 30)])
    d = haversine_m(points, points)
    assert d.shape == (30, 30)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    np.testing.assert_allclose(d, d.T, rtol=0, atol=1e-6)
    assert haversine_m(points[:3], points).shape == (3, 30)


def test_haversine_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        haversine_m(np.array([0.0, 0.0]), np.array([[0.0, 0.0]]))


# --- pick_topology on small synthetic files ---------------------------------------------------


@pytest.fixture
def small_files(tmp_path):
    sites = "SITE_ID,LATITUDE,LONGITUDE,NAME\n" + "".join(
        f"{i},{-37.81 - i * 0.001},{144.96 + i * 0.001},site {i}\n" for i in range(8))
    users = "Latitude,Longitude\n" + "".join(
        f"{-37.81 + i * 0.0005},{144.96 - i * 0.0005}\n" for i in range(5))
    return write(tmp_path, sites, "sites.csv"), write(tmp_path, users, "users.csv")


def test_pick_topology_shapes_distinct_and_distances(small_files):
    sites_path, users_path = small_files
    sites, users, dist = pick_topology(sites_path, users_path, 6, 4, np.random.default_rng(1))
    assert sites.shape == (6, 2) and users.shape == (4, 2) and dist.shape == (4, 6)
    assert len(np.unique(sites, axis=0)) == 6
    assert len(np.unique(users, axis=0)) == 4
    all_sites = load_sites(sites_path)
    assert all((all_sites == row).all(axis=1).any() for row in sites)
    np.testing.assert_array_equal(dist, haversine_m(users, sites))


def test_pick_topology_deterministic_per_seed(small_files):
    first = pick_topology(*small_files, 5, 3, np.random.default_rng(42))
    again = pick_topology(*small_files, 5, 3, np.random.default_rng(42))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    others = [pick_topology(*small_files, 5, 3, np.random.default_rng(seed))[0] for seed in range(5)]
    assert any(not np.array_equal(first[0], other) for other in others)


def test_pick_topology_samples_users_with_replacement_when_short(small_files):
    _, users, dist = pick_topology(*small_files, 2, 12, np.random.default_rng(3))
    assert users.shape == (12, 2) and dist.shape == (12, 2)
    assert len(np.unique(users, axis=0)) <= 5


def test_pick_topology_too_many_edges(small_files):
    sites_path, users_path = small_files
    with pytest.raises(DataError) as exc:
        pick_topology(sites_path, users_path, 9, 3, np.random.default_rng(0))
    assert_one_line(exc, sites_path, "n_edges=9", "only 8 sites")


def test_pick_topology_rejects_zero_counts(small_files):
    with pytest.raises(ConfigError, match="n_edges"):
        pick_topology(*small_files, 0, 3, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="n_users"):
        pick_topology(*small_files, 2, 0, np.random.default_rng(0))


# --- rate multiplier and fluctuation factor -------------------------------------------------------


def test_rate_multiplier_mean_one():
    series = np.random.default_rng(0).gamma(2.0, 20.0, 10_000)
    multiplier = rate_multiplier(series)
    assert multiplier.dtype == np.float64
    assert abs(multiplier.mean() - 1) < 1e-12
    np.testing.assert_allclose(multiplier * series.mean(), series)


UNUSABLE = [np.zeros(5), np.array([1.0, -1.0]), np.array([]), np.array([1.0, np.nan])]


@pytest.mark.parametrize("series", UNUSABLE)
def test_rate_multiplier_rejects_unusable_series(series):
    with pytest.raises(DataError, match="rate_multiplier"):
        rate_multiplier(series)


def test_fluctuation_factor_range():
    series = np.array([0.0, 10.0, 25.0, 50.0, 40.0])
    factor = fluctuation_factor(series, 0.3)
    assert factor.dtype == np.float64
    assert factor.max() == 1.0 and abs(factor.min() - 0.7) < 1e-12
    np.testing.assert_allclose(factor, 1 - 0.3 * series / 50)
    np.testing.assert_array_equal(fluctuation_factor(series, 0.0), 1.0)


@pytest.mark.parametrize("amplitude", [-0.1, 1.1, math.nan])
def test_fluctuation_factor_rejects_amplitude(amplitude):
    with pytest.raises(ValueError, match="amplitude"):
        fluctuation_factor(np.array([1.0, 2.0]), amplitude)


def test_fluctuation_factor_rejects_all_zero():
    with pytest.raises(DataError, match="fluctuation_factor"):
        fluctuation_factor(np.zeros(3), 0.5)


# --- synthetic trace behaviour -----------------------------------------------------------------


def test_server_down_rows_dropped_and_logged(tmp_path, caplog):
    path = write(tmp_path, "t,requests,server_down\na,5,0\nb,0,1\nc,7,0\nd,0,1\ne,3,0\n")
    with caplog.at_level(logging.INFO, logger="marlloc.data"):
        series = load_series(path)
    np.testing.assert_array_equal(series, [5.0, 7.0, 3.0])
    assert any("dropped 2 of 5" in record.getMessage() for record in caplog.records)


def test_blank_lines_and_bom_are_tolerated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffvalue\n1\n\n2\n\n".encode())
    np.testing.assert_array_equal(load_series(path, "value"), [1.0, 2.0])


# --- malformed input: one-line DataError naming the file ------------------------------------------

SITES_HEADER = "SITE_ID,LATITUDE,LONGITUDE\n"

BAD_SITES = {
    "missing column": ("SITE_ID,LATITUDE\n1,-37.8\n",
                       ["'LONGITUDE' missing", "found: 'SITE_ID', 'LATITUDE'"]),
    "non-numeric lat": (SITES_HEADER + "1,-37.8,144.9\n2,north,144.9\n",
                        ["data row 2 (line 3)", "'LATITUDE'", "'north'"]),
    "empty lon": (SITES_HEADER + "1,-37.8,\n", ["data row 1 (line 2)", "'LONGITUDE' is empty"]),
    "lat out of range": (SITES_HEADER + "1,144.9,-37.8\n", ["'LATITUDE' is 144.9", "[-90, 90]"]),
    "lon out of range": (SITES_HEADER + "1,-37.8,200\n", ["'LONGITUDE' is 200.0", "[-180, 180]"]),
    "nan lat": (SITES_HEADER + "1,nan,144.9\n", ["'LATITUDE' is nan", "finite"]),
    "zero rows": (SITES_HEADER, ["no data rows"]),
    "ragged row": (SITES_HEADER + "1,-37.8,144.9\n2,-37.8,144,9\n", ["line 3 has 4 fields", "header has 3"]),
    "empty file": ("", ["file is empty"]),
    "duplicate column": ("SITE_ID,LATITUDE,LONGITUDE,LATITUDE\n1,-37.8,144.9,-37.8\n",
                         ["'LATITUDE' appears more than once"]),
    "multi-line cell": (SITES_HEADER + '1,"-37.8\nx",144.9\n', ["'-37.8\\nx'"]),
}


@pytest.mark.parametrize("text, fragments", BAD_SITES.values(), ids=BAD_SITES.keys())
def test_bad_sites_file(tmp_path, text, fragments):
    path = write(tmp_path, text, "sites.csv")
    with pytest.raises(DataError) as exc:
        load_sites(path)
    assert_one_line(exc, path, *fragments)


def test_missing_files(tmp_path):
    for loader in (load_sites, load_user_positions, load_series):
        path = tmp_path / "nowhere.csv"
        with pytest.raises(DataError) as exc:
            loader(path)
        assert_one_line(exc, path, "file not found")


def test_users_file_missing_longitude(tmp_path):
    path = write(tmp_path, "IP,Latitude\n1.2.3.4,-37.8\n", "users.csv")
    with pytest.raises(DataError) as exc:
        load_user_positions(path)
    assert_one_line(exc, path, "'Longitude' missing", "Latitude, Longitude")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"value\n1\n\xe9\n")
    with pytest.raises(DataError) as exc:
        load_series(path, "value")
    assert_one_line(exc, path, "UnicodeDecodeError", "UTF-8")


BAD_SERIES = {
    "unknown column": ("a,b\n1,2\n3,4\n", "c", ["'c' missing", "found: 'a', 'b'"]),
    "non-numeric cell": ("t,x\n1,2\n2,oops\n", "x", ["data row 2 (line 3)", "'x'", "'oops'"]),
    "negative": ("x\n1\n-2\n3\n", None, ["data row 2 (line 3)", "-2.0", "≥ 0"]),
    "one row": ("x\n4\n", None, ["1 usable rows", "at least 2"]),
    "all zero": ("x\n0\n0\n0\n", None, ["zero in every row"]),
    "nan": ("x\n1\nNaN\n", None, ["data row 2 (line 3)", "is nan"]),
    "inf": ("x\n1\ninf\n", "x", ["is inf", "finite"]),
    "no numeric column": ("t,u\nmon,a\ntue,b\n", None, ["no column is numeric", "'t', 'u'"]),
    "bad server_down": ("requests,server_down\n1,0\n2,2\n", None,
                        ["data row 2 (line 3)", "'server_down' is 2.0"]),
    "all server_down": ("requests,server_down\n0,1\n0,1\n5,0\n", None, ["1 usable rows"]),
}


@pytest.mark.parametrize("text, column, fragments", BAD_SERIES.values(), ids=BAD_SERIES.keys())
def test_bad_series_file(tmp_path, text, column, fragments):
    path = write(tmp_path, text, "trace.csv")
    with pytest.raises(DataError) as exc:
        load_series(path, column)
    assert_one_line(exc, path, *fragments)
