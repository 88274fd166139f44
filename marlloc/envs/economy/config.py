"""Configuration of ``economy_v0``: sizes, data, preprocessing switches and the market's constants.

Every constant of the equations in :mod:`marlloc.envs.economy.economy` is a field here, with a
docstring saying what it does and why its default was chosen. Percentages read from the World
Bank keep their unit (``_pct``); everything else is dimensionless or in units of A, the country's
productivity index (see the spec sheet).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marlloc.core.config import check, check_fields, from_dict


@dataclass(frozen=True)
class EconomyConfig:
    """``economy_v0``: C countries × (1 government, F firms, H consumer groups)."""

    # --- sizes and time ----------------------------------------------------------------------
    n_countries: int = 10
    """C, countries per environment, drawn at reset from the panel's ``split`` (seed 004: 100 agents)."""
    n_firms: int = 4
    """F, firms per country (Cournot competitors in one national market)."""
    n_households: int = 5
    """H, consumer groups per country: income quantiles of equal population mass (5 = quintiles)."""
    episode_steps: int = 100
    """Steps per episode; a step is a quarter, so 100 steps walk 25 years of indicators."""
    n_levels: int = 11
    """K, discrete levels of every action component (seed 004 §4.1: discrete actions)."""
    countries: tuple[str, ...] = ()
    """Fixed ISO3 codes to use in every environment instead of sampling (length n_countries)."""
    device: str = "cpu"
    """Torch device of every tensor."""

    # --- data and preprocessing (seed 004 §3.5–3.6.1) ----------------------------------------
    wdi: str | None = None
    """World Bank data: a tidy CSV, a bulk-layout folder, ``"live"``, or None for the embedded
    synthetic panel (labelled synthetic in every output)."""
    wdi_countries_csv: str | None = None
    """Optional country metadata CSV (iso3, country_name, region, income_group)."""
    years: tuple[int, int] = (2000, 2024)
    """First and last year of the panel window (inclusive)."""
    split: str = "train"
    """Which country split episodes draw from: train, val, test or all (70/15/15 by country)."""
    split_seed: int = 0
    """Seed of the country split (fixed across training seeds so test countries stay unseen)."""
    impute: bool = True
    """Median imputation (own country, then the training split); off drops incomplete countries."""
    normalise: bool = True
    """Z-score the observed features with training-split statistics."""
    engineer: bool = True
    """Engineered features (log GDP, public expenditure, FDI/investment, ...); off = raw indicators."""

    # --- productivity and returns: GDP and FDI (seed 004 §3.6, link 1) ------------------------
    gdp_ref_usd: float = 10_000.0
    """GDP per capita (constant 2015 US$) at which the productivity index A is 1."""
    gdp_elasticity: float = 0.5
    """θ in A = (GDP pc / gdp_ref)^θ·(1 + φ·FDI): returns rise with income, less than linearly, so
    the richest and poorest countries stay within ~30× of each other."""
    fdi_return: float = 1.0
    """φ: FDI (share of GDP, clipped to [-10 %, 50 %]) raises productivity one for one."""

    # --- firms and the shared capital pool (links 1 and 4) -----------------------------------
    firm_cost_share: tuple[float, float] = (0.3, 0.5)
    """Base unit cost of firm 1 and firm F as a share of A, spaced linearly: heterogeneous costs
    make the Cournot equilibrium asymmetric and the test meaningful."""
    firm_capacity: float = 2.0
    """Largest output request of all firms together, in units of the market size a/b at the
    reference consumption share (each firm may request firm_capacity / F)."""
    infrastructure_cost_effect: float = 0.2
    """η: unit cost divides by 1 + η·I, with I the infrastructure stock."""
    pool_scale: float = 2.5
    """The capital pool K = pool_scale·(investment + max(FDI, 0))/100 + savings_to_pool·S,
    in output units: at 25 % investment it holds ~0.65 of the market size, below the firms'
    total capacity, so over-requests are rationed."""
    savings_to_pool: float = 0.5
    """Share of last quarter's household savings (per capita, in units of A) that becomes capital."""

    # --- demand factors D (link 2) ----------------------------------------------------------
    pop_growth_demand: float = 5.0
    """ψ_n: D grows by ψ_n·(population growth)/100 (2 % growth → ×1.10)."""
    unemployment_demand: float = 1.0
    """ψ_u: unemployment shrinks the firms' market (×(1 − ψ_u·u/100)) and makes consumers' and the
    government's needs more urgent (×(1 + ψ_u·ω·u/100))."""

    # --- costs C (link 4: inflation and trade balance) --------------------------------------
    inflation_cost: float = 1.0
    """ψ_π: costs scale by 1 + ψ_π·inflation/100 (inflation clipped to [-10 %, 100 %])."""
    trade_balance_cost: float = 0.5
    """ψ_tb: costs scale by 1 − ψ_tb·trade balance/100 (clipped to ±30 %): a deficit means
    dearer imported inputs."""

    # --- consumers --------------------------------------------------------------------------
    income_lognormal_sigma: float = 0.8
    """σ of the log-normal income distribution whose H quantile shares give the groups' incomes
    (σ = 0.8 gives a Gini of 0.43, near the world median)."""
    min_consumption_share: float = 0.2
    """Consumption share at action level 0 (subsistence); level K−1 consumes all income."""
    consumption_value: float = 1.0
    """ν in the consumption value ν·A·log(1 + c / (A·p̂))."""
    savings_value: float = 0.5
    """ρ: value of a unit of income saved (future consumption, discounted)."""
    reference_price: float = 0.5
    """p_ref: market price (in units of A) at which the consumer price index p̂ is 1."""

    # --- government (link 3: public expenditure) --------------------------------------------
    inequality_aversion: float = 1.0
    """λ_G: the government's welfare loses λ_G·A per point of income Gini."""
    infrastructure_depreciation: float = 0.02
    """δ_I: quarterly depreciation of the infrastructure stock."""
    public_capital_share: float = 0.2
    """Initial infrastructure stock I₀ = share·(gross fixed capital formation)/100 / δ_I: the
    public part of investment at its steady state."""

    def __post_init__(self):
        def ints(name, lo, fix):
            v = getattr(self, name)
            check(isinstance(v, int) and not isinstance(v, bool) and v >= lo, name, f"be an integer ≥ {lo}", v, fix)

        ints("n_countries", 1, "try n_countries=10")
        ints("n_firms", 1, "try n_firms=4")
        ints("n_households", 1, "try n_households=5")
        ints("episode_steps", 1, "try episode_steps=100")
        ints("n_levels", 2, "try n_levels=11")
        check(not self.countries or len(self.countries) == self.n_countries, "countries",
              f"hold n_countries={self.n_countries} ISO3 codes or be empty", self.countries,
              "list one code per country or leave it empty to sample")
        check(len(self.years) == 2 and self.years[0] <= self.years[1], "years", "be (first, last) with first ≤ last",
              self.years, "try years=(2000, 2024)")
        n_years = self.years[1] - self.years[0] + 1
        check(self.episode_steps <= 4 * n_years, "episode_steps", f"fit in the {n_years}-year window "
              f"(≤ {4 * n_years} quarters)", self.episode_steps, "widen years or shorten the episode")
        check(self.split in ("train", "val", "test", "all"), "split", "be train, val, test or all", self.split,
              "try split='train'")
        check(self.wdi is None or self.wdi == "live" or Path(self.wdi).exists(), "wdi",
              "be a tidy CSV, a bulk-layout folder, 'live' or None", self.wdi, "check the path")
        for n in ("gdp_ref_usd", "consumption_value", "reference_price", "firm_capacity", "pool_scale"):
            check(getattr(self, n) > 0, n, "be positive", getattr(self, n), f"try {n}={getattr(EconomyConfig, n)}")
        for n in ("gdp_elasticity", "fdi_return", "infrastructure_cost_effect", "savings_to_pool",
                  "pop_growth_demand", "unemployment_demand", "inflation_cost", "trade_balance_cost",
                  "income_lognormal_sigma", "savings_value", "inequality_aversion", "public_capital_share"):
            check(getattr(self, n) >= 0, n, "be ≥ 0", getattr(self, n), f"try {n}={getattr(EconomyConfig, n)}")
        lo, hi = self.firm_cost_share
        check(0 <= lo <= hi < 1, "firm_cost_share", "be (low, high) with 0 ≤ low ≤ high < 1", self.firm_cost_share,
              "try (0.3, 0.5)")
        check(0 <= self.min_consumption_share < 1, "min_consumption_share", "lie in [0, 1)",
              self.min_consumption_share, "try 0.2")
        check(0 < self.infrastructure_depreciation <= 1, "infrastructure_depreciation", "lie in (0, 1]",
              self.infrastructure_depreciation, "try 0.02")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EconomyConfig:
        check_fields(cls, d, "economy_v0")
        return from_dict(cls, d)


__all__ = ["EconomyConfig"]
