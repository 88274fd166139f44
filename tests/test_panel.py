"""Preprocessing of seed 004 §3.6.1: imputation, z-score on the training split, engineering, split by country."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marlloc.core.errors import ConfigError, DataError
from marlloc.data.panel import DRIVER_NAMES, DRIVERS, FEATURES, RAW_FEATURES, WDI_CODES, build_panel

CODES = [codes[-1] for codes in DRIVERS.values()]  # CHEX stands in for health, as in the snapshot


def frame(n_countries=20, years=range(2000, 2010), seed=0, holes=()):
    """A tidy WDI-shaped frame: country k has GDP per capita 1000·(k+1) and smooth paths."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_countries):
        for y in years:
            row = {"iso3": f"C{k:02d}", "country_name": f"Country {k}", "region": "R" + "AB"[k % 2],
                   "income_group": None if k == 3 else "Low income", "year": y}
            for j, c in enumerate(CODES):
                row[c] = (1000.0 * (k + 1) * (1 + 0.02 * (y - 2000)) if j == 0 else
                          5.0 + j + 0.1 * k + 0.01 * (y - 2000) + rng.normal(0, 0.01))
            rows.append(row)
    f = pd.DataFrame(rows)
    for iso, year, code in holes:
        f.loc[(f.iso3 == iso) & (f.year == year), code] = np.nan
    f.attrs["source"] = "test"
    return f


def test_split_is_by_country_and_70_15_15():
    p = build_panel(frame(40), years=(2000, 2009))
    counts = {s: p.split.count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 28, "val": 6, "test": 6}
    idx = [set(p.countries(s)) for s in ("train", "val", "test")]
    assert not (idx[0] & idx[1]) and not (idx[0] & idx[2]) and not (idx[1] & idx[2])
    assert sum(map(len, idx)) == 40
    again = build_panel(frame(40), years=(2000, 2009))
    other = build_panel(frame(40), years=(2000, 2009), split_seed=1)
    assert again.split == p.split and other.split != p.split


def test_zscore_uses_training_countries_only():
    p = build_panel(frame(30), years=(2000, 2009))
    train = p.features[p.countries("train")].reshape(-1, 10).astype(float)
    assert np.allclose(train.mean(0), 0, atol=1e-5)
    assert np.allclose(train.std(0)[train.std(0) > 0], 1, atol=1e-4)
    # moving a test country's values changes its features but not the statistics
    test_iso = p.iso3[p.countries("test")[0]]
    f = frame(30)
    f.loc[f.iso3 == test_iso, CODES[5]] += 7.0
    q = build_panel(f, years=(2000, 2009))
    assert np.array_equal(q.feature_mean, p.feature_mean) and np.array_equal(q.feature_std, p.feature_std)
    assert not np.array_equal(q.features[q.index(test_iso)], p.features[p.index(test_iso)])


def test_imputation_takes_the_countrys_median_then_the_training_median():
    code = CODES[DRIVER_NAMES.index("unemployment_pct")]
    holes = [("C05", 2003, code)] + [("C07", y, code) for y in range(2000, 2010)]
    f = frame(20, holes=holes)
    p = build_panel(f, years=(2000, 2009), min_coverage=0.0)
    k = DRIVER_NAMES.index("unemployment_pct")
    own = f[(f.iso3 == "C05")][code].median()
    assert p.drivers[p.index("C05"), 3, k] == pytest.approx(own)
    assert p.imputed[p.index("C05"), 3, k] and not p.imputed[p.index("C05"), 2, k]
    train = [p.iso3[i] for i in p.countries("train")]
    pooled = f[f.iso3.isin(train)][code].median()
    assert np.allclose(p.drivers[p.index("C07"), :, k], pooled)
    # the categorical income group of C03 takes the training split's mode
    assert p.income_group[p.index("C03")] == "Low income"


def test_without_imputation_incomplete_countries_are_dropped(caplog):
    f = frame(20, holes=[("C05", 2003, CODES[2])])
    with caplog.at_level("INFO"):
        p = build_panel(f, years=(2000, 2009), impute=False)
    assert "C05" not in p.iso3 and len(p.iso3) == 19
    assert "drops 1 of 20 countries" in caplog.text


def test_feature_engineering_and_normalisation_switch_off():
    raw = build_panel(frame(), years=(2000, 2009), engineer=False, normalise=False)
    assert raw.feature_names == RAW_FEATURES
    k = raw.index("C04")
    assert raw.features[k, 0, 0] == pytest.approx(5000.0)  # GDP per capita in dollars, unscaled
    eng = build_panel(frame(), years=(2000, 2009), normalise=False)
    assert eng.feature_names == FEATURES
    d = eng.drivers[k, 0]
    g = dict(zip(DRIVER_NAMES, d, strict=True))
    assert eng.features[k, 0, 0] == pytest.approx(np.log(5000.0))
    assert eng.features[k, 0, 2] == pytest.approx(g["health_pct_gdp"] + g["education_pct_gdp"], rel=1e-6)
    assert eng.features[k, 0, 4] == pytest.approx(g["fdi_pct_gdp"] / g["investment_pct_gdp"], rel=1e-6)
    assert eng.features[k, 0, 6] == pytest.approx(g["investment_pct_gdp"], rel=1e-6)
    assert eng.features[k, 0, 8] == pytest.approx(np.arcsinh(g["inflation_pct"]), rel=1e-6)


def test_sparse_countries_are_dropped_and_counted(caplog):
    f = frame(20)
    f.loc[f.iso3 == "C09", CODES[1:]] = np.nan
    with caplog.at_level("INFO"):
        p = build_panel(f, years=(2000, 2009))
    assert "C09" not in p.iso3
    assert "dropped 1 of 20 countries" in caplog.text
    assert p.steps["countries_dropped"] == 1


def test_public_health_series_is_preferred_when_present():
    f = frame()
    f["SH.XPD.GHED.GD.ZS"] = 1.25
    p = build_panel(f, years=(2000, 2009))
    assert p.steps["columns"]["health_pct_gdp"] == "SH.XPD.GHED.GD.ZS"
    assert np.allclose(p.drivers[..., DRIVER_NAMES.index("health_pct_gdp")], 1.25)


@pytest.mark.parametrize(("mutate", "kw", "err", "match"), [
    (lambda f: f.drop(columns=[CODES[6]]), {}, DataError, "NY.GDP.MKTP.KD.ZG"),
    (lambda f: f.assign(**{CODES[6]: np.nan}), {}, DataError, "missing or empty"),
    (lambda f: f.drop(columns=["year"]), {}, DataError, "column 'year'"),
    (lambda f: f, {"years": (1990, 1995)}, DataError, "no country has data"),
    (lambda f: f, {"years": (2005, 2001)}, ConfigError, "first ≤ last"),
    (lambda f: f, {"split_fractions": (0.5, 0.2, 0.2)}, ConfigError, "summing to 1"),
])
def test_bad_input_is_one_line(mutate, kw, err, match):
    with pytest.raises(err, match=match) as e:
        build_panel(mutate(frame()), **{"years": (2000, 2009), **kw})
    assert "\n" not in str(e.value)


def test_real_snapshot_panel(shared_data):
    from marlloc.data.worldbank import load_wdi

    wb = shared_data / "worldbank"
    f = load_wdi(wb / "wdi_snapshot.csv", indicators=WDI_CODES, countries=wb / "wdi_countries.csv")
    p = build_panel(f)
    assert 150 <= len(p.iso3) <= 217 and p.drivers.shape[1:] == (25, 11)
    assert np.isfinite(p.drivers).all() and np.isfinite(p.features).all()
    assert p.steps["columns"]["trade_balance_pct_gdp"] == "NE.RSB.GNFS.ZS"  # derived by the loader
    k = p.index("DEU")
    g = dict(zip(DRIVER_NAMES, p.drivers[k, p.years.index(2019)], strict=True))
    assert 40_000 < g["gdp_pc_usd"] < 50_000 and 2 < g["unemployment_pct"] < 5  # Germany 2019
    assert p.region[k] == "Europe & Central Asia"
