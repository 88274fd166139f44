"""From a tidy WDI frame to the economy's country panel (seed 004 §3.6.1 preprocessing).

:func:`build_panel` turns the frame :func:`marlloc.data.worldbank.load_wdi` returns into an
:class:`EconomyPanel`: a dense country × year grid of

- **drivers**, the eleven indicators the market equations read, in their natural units
  (``DRIVERS``; imputed, never normalised, since "inflation 5 %" must mean 5 %), and
- **features**, the ten numbers every agent observes (``FEATURES``, seed 004 §4.1 "10
  dimensions"), imputed, engineered and z-scored.

The steps, in order, each switchable for the ablations:

1. **Window and coverage.** Keep the years ``years`` (default 2000–2024: 25 years, 100 quarterly
   steps). A country whose driver cells are less than ``min_coverage`` present is dropped and
   counted in the log (tiny territories with one or two series).
2. **Split by country** (70/15/15, seeded): a country's whole path lands in one split, so no
   test country leaks its level into the training statistics.
3. **Imputation** (``impute``): a missing cell takes the median of the same country's years in
   the window; a country with no value at all for an indicator takes the training split's
   median. The categorical columns (region, income group) take the training split's mode.
   Without imputation, countries with any missing driver cell are dropped (count logged).
4. **Feature engineering** (``engineer``): log GDP per capita, public expenditure = health +
   education, FDI as a share of investment, asinh(inflation) (hyper-inflations of 10⁴ % would
   otherwise own the z-score), and the investment-to-GDP ratio the seed names. Without it the
   ten features are raw indicators: GDP per capita in dollars, health, education and no
   investment ratio (``RAW_FEATURES``).
5. **Normalisation** (``normalise``): z = (x − μ) / σ with μ, σ from the training countries'
   cells only, then clipped to ±``z_clip`` so a single outlier country (FDI of 200 % of GDP in
   a financial centre) cannot saturate the observation.

The public health series SH.XPD.GHED.GD.ZS is preferred when the frame has it; otherwise current
(total) health expenditure SH.XPD.CHEX.GD.ZS stands in, as the data's PROVENANCE explains.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np

from marlloc.core.config import check
from marlloc.core.errors import DataError
from marlloc.core.seeding import numpy_rng

logger = logging.getLogger(__name__)

DRIVERS: dict[str, tuple[str, ...]] = {
    # name used by the market equations: WDI codes, first present wins
    "gdp_pc_usd": ("NY.GDP.PCAP.KD",),
    "pop_growth_pct": ("SP.POP.GROW",),
    "health_pct_gdp": ("SH.XPD.GHED.GD.ZS", "SH.XPD.CHEX.GD.ZS"),
    "education_pct_gdp": ("SE.XPD.TOTL.GD.ZS",),
    "infrastructure_pct_gdp": ("NE.GDI.FTOT.ZS",),
    "fdi_pct_gdp": ("BX.KLT.DINV.WD.GD.ZS",),
    "gdp_growth_pct": ("NY.GDP.MKTP.KD.ZG",),
    "investment_pct_gdp": ("NE.GDI.TOTL.ZS",),
    "unemployment_pct": ("SL.UEM.TOTL.ZS",),
    "inflation_pct": ("FP.CPI.TOTL.ZG",),
    "trade_balance_pct_gdp": ("NE.RSB.GNFS.ZS",),
}
DRIVER_NAMES = tuple(DRIVERS)
WDI_CODES = tuple(codes[-1] for codes in DRIVERS.values())
"""The codes :func:`load_panel` asks every source for: one per driver, the total health series
(the public one is in few sources) and the trade balance (derived by the loader when absent)."""

FEATURES = (
    "log_gdp_pc", "pop_growth", "public_expenditure", "infrastructure", "fdi_share_of_investment",
    "gdp_growth", "investment_to_gdp", "unemployment", "asinh_inflation", "trade_balance",
)
RAW_FEATURES = (
    "gdp_pc", "pop_growth", "health", "education", "infrastructure", "fdi", "gdp_growth",
    "unemployment", "inflation", "trade_balance",
)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class EconomyPanel:
    """A dense country × year panel. C countries, Y years, 11 drivers, 10 features."""

    iso3: tuple[str, ...]                 # [C]
    country_name: tuple[str, ...]         # [C]
    region: tuple[str, ...]               # [C] (imputed with the training mode)
    income_group: tuple[str, ...]         # [C] (imputed with the training mode)
    split: tuple[str, ...]                # [C] "train" | "val" | "test"
    years: tuple[int, ...]                # [Y]
    drivers: np.ndarray                   # [C, Y, 11] float64, natural units (DRIVER_NAMES)
    imputed: np.ndarray                   # [C, Y, 11] bool, the driver cell was imputed
    features: np.ndarray                  # [C, Y, 10] float32, what agents observe
    feature_names: tuple[str, ...]        # [10]
    feature_mean: np.ndarray              # [10] training-split mean (0 when not normalised)
    feature_std: np.ndarray               # [10] training-split std (1 when not normalised)
    source: str
    """Where the data came from (``frame.attrs["source"]``); "synthetic" for the embedded panel."""
    vintage: dict = field(default_factory=dict)
    """World Bank "last updated" date per indicator code, as recorded by the loader."""
    steps: dict = field(default_factory=dict)
    """The preprocessing switches and counts (dropped countries, imputed share), for run records."""

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    def countries(self, split: str = "train") -> np.ndarray:
        """Indices of the countries in ``split`` ("all" for every country)."""
        if split == "all":
            return np.arange(len(self.iso3))
        check(split in SPLITS, "split", f"be one of {', '.join(SPLITS)} or all", split, "try split='train'")
        return np.flatnonzero(np.asarray(self.split) == split)

    def index(self, iso3: str) -> int:
        try:
            return self.iso3.index(iso3)
        except ValueError:
            raise DataError(f"country {iso3!r} is not in the panel ({self.source}); "
                            f"choose one of {', '.join(self.iso3[:8])}, ...") from None


def _engineer(d: np.ndarray, engineer: bool) -> np.ndarray:
    """The ten observed features from the eleven drivers ``d`` ``[..., 11]``."""
    g = {n: d[..., i] for i, n in enumerate(DRIVER_NAMES)}
    if not engineer:
        cols = ("gdp_pc_usd", "pop_growth_pct", "health_pct_gdp", "education_pct_gdp", "infrastructure_pct_gdp",
                "fdi_pct_gdp", "gdp_growth_pct", "unemployment_pct", "inflation_pct", "trade_balance_pct_gdp")
        return np.stack([g[c] for c in cols], -1)
    return np.stack([
        np.log(np.maximum(g["gdp_pc_usd"], 1.0)),
        g["pop_growth_pct"],
        g["health_pct_gdp"] + g["education_pct_gdp"],
        g["infrastructure_pct_gdp"],
        # investment near zero happens in war years; 1 % floors the ratio's denominator
        g["fdi_pct_gdp"] / np.maximum(g["investment_pct_gdp"], 1.0),
        g["gdp_growth_pct"],
        g["investment_pct_gdp"],
        g["unemployment_pct"],
        np.arcsinh(g["inflation_pct"]),
        g["trade_balance_pct_gdp"],
    ], -1)


def _mode(values: list[str]) -> str:
    vals = [v for v in values if isinstance(v, str) and v]
    if not vals:
        return "unknown"
    uniq, counts = np.unique(vals, return_counts=True)
    return str(uniq[np.argmax(counts)])


def build_panel(frame, *, years: tuple[int, int] = (2000, 2024), impute: bool = True, normalise: bool = True,
                engineer: bool = True, split_fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
                split_seed: int = 0, min_coverage: float = 0.5, z_clip: float = 5.0) -> EconomyPanel:
    """Preprocess a tidy WDI frame into an :class:`EconomyPanel` (see the module docstring)."""
    check(len(years) == 2 and years[0] <= years[1], "years", "be a (first, last) pair with first ≤ last",
          years, "try years=(2000, 2024)")
    check(len(split_fractions) == 3 and min(split_fractions) >= 0 and abs(sum(split_fractions) - 1) < 1e-9,
          "split_fractions", "be three non-negative shares summing to 1", split_fractions,
          "try (0.70, 0.15, 0.15)")
    check(0 <= min_coverage <= 1, "min_coverage", "lie in [0, 1]", min_coverage, "try min_coverage=0.5")
    source = str(frame.attrs.get("source", "unknown"))
    for col in ("iso3", "year"):
        if col not in frame.columns:
            raise DataError(f"{source}: WDI frame must have column {col!r}; load it with marlloc.data.load_wdi")
    cols = {}
    for name, codes in DRIVERS.items():
        have = [c for c in codes if c in frame.columns and frame[c].notna().any()]
        if not have:
            raise DataError(f"{source}: indicator {' or '.join(codes)} ({name}) is missing or empty; "
                            f"load it, e.g. load_wdi(path, indicators=marlloc.data.panel.WDI_CODES)")
        cols[name] = have[0]

    # --- window: a dense [C, Y] grid of the countries present --------------------------------
    y0, y1 = years
    f = frame[(frame["year"] >= y0) & (frame["year"] <= y1)]
    grid_years = np.arange(y0, y1 + 1)
    iso_all = sorted(set(f["iso3"]))
    if not iso_all:
        raise DataError(f"{source}: no country has data in {y0}–{y1}; widen years or check the file")
    ci = {c: i for i, c in enumerate(iso_all)}
    d = np.full((len(iso_all), len(grid_years), len(DRIVERS)), np.nan)
    rows, yrs = f["iso3"].map(ci).to_numpy(), (f["year"].to_numpy() - y0)
    for k, name in enumerate(DRIVERS):
        d[rows, yrs, k] = f[cols[name]].to_numpy(dtype=float)
    meta = f.drop_duplicates("iso3").set_index("iso3")

    present = np.isfinite(d).mean(axis=(1, 2))
    keep = present >= min_coverage
    if (~keep).any():
        logger.info("panel: dropped %d of %d countries with < %.0f %% of driver cells in %d–%d",
                    int((~keep).sum()), len(keep), 100 * min_coverage, y0, y1)
    d, iso = d[keep], [c for c, k in zip(iso_all, keep, strict=True) if k]
    if not impute:
        complete = np.isfinite(d).all(axis=(1, 2))
        logger.info("panel: impute=False drops %d of %d countries with a missing cell", int((~complete).sum()),
                    len(complete))
        d, iso = d[complete], [c for c, k in zip(iso, complete, strict=True) if k]
    if len(iso) < 3:
        raise DataError(f"{source}: only {len(iso)} countries usable in {y0}–{y1} (need ≥ 3 for a split); "
                        "lower min_coverage, enable imputation or widen years")

    # --- split by country --------------------------------------------------------------------
    C = len(iso)
    order = numpy_rng(split_seed, "wdi_split").permutation(C)
    n_train = max(1, round(split_fractions[0] * C))
    n_val = min(C - n_train, round(split_fractions[1] * C))
    split = np.empty(C, dtype=object)
    split[order[:n_train]], split[order[n_train:n_train + n_val]], split[order[n_train + n_val:]] = SPLITS
    train = split == "train"

    # --- imputation: own-country median, then the training split's median -------------------
    missing = ~np.isfinite(d)
    if impute:
        with np.errstate(all="ignore"), _quiet_nanmedian():
            own = np.nanmedian(d, axis=1, keepdims=True)                    # [C, 1, 11]
            pooled = np.nanmedian(d[train].reshape(-1, d.shape[-1]), axis=0)  # [11]
        fill = np.where(np.isfinite(own), own, pooled)
        d = np.where(missing, fill, d)
        if not np.isfinite(d).all():
            bad = DRIVER_NAMES[int(np.flatnonzero(~np.isfinite(d).all(axis=(0, 1)))[0])]
            raise DataError(f"{source}: indicator for {bad} has no value in any training country; "
                            "widen years or add data")
        logger.info("panel: imputed %d of %d driver cells (%.1f %%)", int(missing.sum()), missing.size,
                    100 * missing.mean())

    # --- features: engineer, then z-score with training statistics only ----------------------
    x = _engineer(d, engineer)
    if normalise:
        mu = x[train].reshape(-1, x.shape[-1]).mean(0)
        sd = x[train].reshape(-1, x.shape[-1]).std(0)
        sd = np.where(sd > 0, sd, 1.0)
        x = np.clip((x - mu) / sd, -z_clip, z_clip)
    else:
        mu, sd = np.zeros(x.shape[-1]), np.ones(x.shape[-1])

    def cat(col):
        vals = [meta[col].get(c) if col in meta.columns else None for c in iso]
        mode = _mode([v for v, t in zip(vals, train, strict=True) if t])
        return tuple(v if isinstance(v, str) and v else mode for v in vals)

    names = meta["country_name"] if "country_name" in meta.columns else None
    return EconomyPanel(
        iso3=tuple(iso),
        country_name=tuple(str(names.get(c, c)) if names is not None else c for c in iso),
        region=cat("region"), income_group=cat("income_group"),
        split=tuple(split), years=tuple(int(y) for y in grid_years),
        drivers=d, imputed=missing, features=x.astype(np.float32),
        feature_names=FEATURES if engineer else RAW_FEATURES, feature_mean=mu, feature_std=sd,
        source=source, vintage=dict(frame.attrs.get("vintage", {}) or {}),
        steps=dict(impute=impute, normalise=normalise, engineer=engineer, years=list(years),
                   split_seed=split_seed, split_fractions=list(split_fractions),
                   countries_dropped=int(len(iso_all) - C), imputed_share=float(missing.mean()),
                   columns=cols),
    )


class _quiet_nanmedian:
    """np.nanmedian warns on all-NaN slices, which are expected here (they fall back to the
    pooled median) and would be errors under ``-W error``."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


@functools.lru_cache(maxsize=8)
def load_panel(wdi: str | None = None, countries_csv: str | None = None, years: tuple[int, int] = (2000, 2024),
               impute: bool = True, normalise: bool = True, engineer: bool = True, split_seed: int = 0,
               synthetic_countries: int = 60) -> EconomyPanel:
    """The panel an environment runs on: ``wdi`` is a tidy CSV, a bulk-layout folder, ``"live"``,
    or None for the embedded synthetic panel. Cached per process: environments are built often
    (tests, evaluation workers) and the 2.6 MB snapshot takes ~0.3 s to parse."""
    from marlloc.data.worldbank import load_wdi, synthetic_wdi

    if wdi is None:
        frame = synthetic_wdi(n_countries=synthetic_countries, years=years, seed=0)
    else:
        frame = load_wdi(wdi, indicators=WDI_CODES, years=years, countries=countries_csv)
    return build_panel(frame, years=years, impute=impute, normalise=normalise, engineer=engineer,
                       split_seed=split_seed)


__all__ = ["DRIVER_NAMES", "FEATURES", "RAW_FEATURES", "SPLITS", "WDI_CODES", "EconomyPanel", "build_panel",
           "load_panel"]
