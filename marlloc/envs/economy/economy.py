"""Economy ``economy_v0``: firms, consumer groups and governments on a World Bank country path (seed 004).

=====================  ==========================================================================
Agents                 per country c = 0..C-1: ``government_c``; ``firm_{cF+f}`` (f < F);
                       ``consumer_{cH+h}`` (h < H, income quantile, poorest first). Default
                       C = 10, F = 4, H = 5: 100 agents (seed 004 §4.1)
Firm action            ``level`` ∈ {0..K-1}: output request q = level/(K−1) · firm_capacity/F
Consumer action        ``level`` ∈ {0..K-1}: consumption share s = s_min + (1 − s_min)·level/(K−1)
Government action      ``infrastructure``, ``subsidy`` ∈ {0..K-1}: budget shares
                       ι = infrastructure/(K−1), σ̃ = (1 − ι)·subsidy/(K−1), ω = 1 − ι − σ̃
                       (redistribution)
Observation            20 floats for every role: the country's 10 preprocessed indicator features
                       for the current year (``marlloc.data.panel.FEATURES``), then 10 dynamic
                       variables of the agent (``FIRM_OBS``, ``CONSUMER_OBS``, ``GOVERNMENT_OBS``)
Global state           per country: 10 features + (I, S̃, P/A, X, Gini, K); then t/T
Active / done          every agent, every step / never
Episode                ``episode_steps`` quarters (default 100 = 25 years); indicators change once a
                       year (held within it, no interpolation); every environment truncates together
=====================  ==========================================================================

Arguments: :class:`~marlloc.envs.economy.config.EconomyConfig` (sizes, data source, preprocessing
switches, every constant below). ``make("economy_v0", wdi="shared/data/worldbank/wdi_snapshot.csv")``
runs on real data; without ``wdi`` the embedded synthetic panel is used and ``info`` says so.

Data
----
At reset each environment draws C countries from the configured split of the panel
(:mod:`marlloc.data.panel`: 70/15/15 by country; with replacement only when the split holds
fewer than C) and a start year such that the episode fits the window. Step t reads year ``start + t // 4``. Drivers (natural units): GDP per capita g
(2015 US$), population growth n, health h and education e (% GDP), gross fixed capital
formation k (% GDP), FDI f (% GDP), investment i (% GDP), unemployment u (%), inflation π (%),
trade balance tb (% GDP). Clipped where used: f ∈ [−10, 50], π ∈ [−10, 100], tb ∈ [−30, 30].

Quantities of country c at step t (everything per capita, money in units of A)
------------------------------------------------------------------------------
- Productivity (GDP and FDI raise returns): A = (g / g_ref)^θ · (1 + φ·f/100).
- Public budget: τ = (h + e)/100, B = τ·A.
- Cost wedge (inflation and trade balance raise costs): w = (1 + ψ_π·π/100)(1 − ψ_tb·tb/100).
- Demand factors (population growth and unemployment): D_firm = max(0.1, (1 + ψ_n·n/100)(1 − ψ_u·u/100)),
  D_h = max(0.1, 1 + ψ_n·n/100)·(1 + ψ_u·ω_h·u/100), D_gov = 1 + ψ_u·u/100, with unemployment
  exposure ω_h = 2(H − 1 − h)/(H − 1) (2 for the poorest group, 0 for the richest; 1 when H = 1).

Government (acts first in the formulas, simultaneously in time)
- Transfers to consumer group h (per member): T_h = ω·B·H·τw_h, τw_h ∝ H − h (poorest most).
- Infrastructure: I_{t+1} = (1 − δ_I)·I_t + ι·τ, I_0 = public_capital_share·k/100/δ_I;
  firms' unit costs divide by 1 + η·I (infrastructure raises future productivity).
- Subsidy per unit of output: σ = σ̃·B / firm_capacity (so σ·X ≤ σ̃·B: never over budget).

Consumers (group h, quantile income share ς_h of a log-normal(σ_y) distribution)
- Income y_h = A·(1 − τ)·H·ς_h·max(0, 1 − ω_h·u/100) + T_h; consumption c_h = s_h·y_h; savings z_h = y_h − c_h.
- R_h = ν·A·log(1 + c_h/(A·p̂)) + ρ·z_h  (value of consumption at the price index p̂, plus savings)
- C_h = (w − 1)·c_h  (what inflation and a trade deficit add to the price of the basket)
- p̂ = max(P/A, 0.05)/p_ref, from this step's market price P.

Firms (one national market per country, Cournot competition)
- Inverse demand P = max(0, a − b·X), a = A·M, b = A, where M = Σ_h c_h / (s_ref·Σ_h y_h) is the
  consumers' spending relative to the reference share s_ref = (1 + s_min)/2.
- Shared scarce resource: the capital pool K = pool_scale·(i + max(f, 0))/100 + savings_to_pool·S̃_{t−1}
  (output units; S̃ = mean_h z_h / A). Requests are rationed proportionally:
  x_f = q_f·min(1, K / Σ_f q_f), X = Σ_f x_f ≤ K.
- Unit cost c_f = A·κ_f·w/(1 + η·I) − σ, with κ_f spaced over ``firm_cost_share``.
- R_f = P·x_f, C_f = c_f·x_f, D_f = D_firm.

Government
- R_gov = social welfare = mean_h (R_h − C_h) + Σ_f (P − c_f)·x_f − λ_G·A·Gini(y_1..y_H)
- C_gov = B (the whole budget; unspent subsidy lapses), D_gov as above.

Rewards: every agent's step reward is (R − C)·D, so its return is seed 004's eq. 3,
U_i = Σ_t (R_it − C_it)·D_it. R, C and D of every agent are in ``info`` (``firm/R`` …).

Cournot reduction: with consumers and the government fixed, M, A, σ, I and D are fixed within a
step; if the pool does not bind (Σq ≤ K) and a − bX ≥ 0, firm f's reward is
D·(a − b·Σq − c_f)·q_f, exactly the Cournot game G1 of ``shared/design/game-theory.md``.

Info (per environment ``[n_envs]``): ``economy/utility`` (mean reward over all agents),
``economy/gini`` (mean over countries of the income Gini across groups), ``economy/price``,
``economy/output``, ``economy/pool``, ``economy/pool_use`` (Σq / K), ``economy/synthetic`` (1 when
the data is the embedded synthetic panel). Per agent: ``<role>/R``, ``<role>/C``, ``<role>/D``,
``firm/output``, ``firm/unit_cost``, ``consumer/income``, ``consumer/consumption``,
``government/shares`` ``[E, C, 3]``. Per country: ``country/a``, ``country/b``, ``country/pool``.

Version history: v0 (this file).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from marlloc.core.errors import MarllocError
from marlloc.core.protocol import Discrete, MarkovGame, RoleSpec, Step, validate_actions
from marlloc.core.seeding import numpy_rng
from marlloc.data.panel import DRIVER_NAMES, load_panel
from marlloc.envs.economy.config import EconomyConfig
from marlloc.metrics import gini

FIRM_OBS = ("last_output", "last_unit_cost", "last_price", "last_market_output", "pool", "last_rationing",
            "infrastructure", "demand_factor", "cost_rank", "time")
CONSUMER_OBS = ("last_income", "last_consumption_share", "last_transfer", "last_price_index", "cost_wedge",
                "demand_factor", "income_share", "last_savings", "last_gini", "time")
GOVERNMENT_OBS = ("budget_share", "infrastructure", "last_gini", "last_mean_income", "last_market_output",
                  "last_price", "last_infrastructure_share", "last_subsidy_share", "last_redistribution_share",
                  "time")
COUNTRY_STATE = ("infrastructure", "savings", "price", "output", "gini", "pool")
_D = {n: i for i, n in enumerate(DRIVER_NAMES)}


@dataclass
class EconomyState:
    """Everything that changes within an episode. E envs, C countries, F firms, H groups."""

    step: int
    country: Tensor        # [E, C] long, panel row of each country
    drivers: Tensor        # [E, C, Y_ep, 11] the episode's yearly driver path (natural units)
    features: Tensor       # [E, C, Y_ep, 10] the episode's observed features
    infra: Tensor          # [E, C] infrastructure stock I
    savings: Tensor        # [E, C] S̃, last quarter's savings per capita / A
    output: Tensor         # [E, C, F] x_f last quarter
    unit_cost: Tensor      # [E, C, F] c_f / A last quarter
    price: Tensor          # [E, C] P / A last quarter
    rationing: Tensor      # [E, C] min(1, K / Σq) last quarter
    income: Tensor         # [E, C, H] y_h / A last quarter
    share: Tensor          # [E, C, H] consumption share last quarter
    transfer: Tensor       # [E, C, H] T_h / A last quarter
    split: Tensor          # [E, C, 3] government shares (ι, σ̃, ω) last quarter
    gini: Tensor           # [E, C] income Gini last quarter


def quantile_shares(n: int, sigma: float) -> np.ndarray:
    """Income shares of the n equal-mass quantiles of a log-normal(σ) distribution (ascending):
    share_k = Φ(Φ⁻¹(k/n) − σ) − Φ(Φ⁻¹((k−1)/n) − σ)."""
    from scipy.stats import norm

    edges = norm.cdf(norm.ppf(np.linspace(0, 1, n + 1)) - sigma)
    return np.diff(edges)


class Economy(MarkovGame):
    """Batched economy; see the module docstring for the spec sheet."""

    config_class = EconomyConfig

    def __init__(self, config: EconomyConfig | None = None, **overrides):
        cfg = self._configure(config, overrides)
        dev = self.device
        C, F, H, K = cfg.n_countries, cfg.n_firms, cfg.n_households, cfg.n_levels
        self.n_countries, self.n_firms, self.n_households = C, F, H
        self.panel = load_panel(cfg.wdi, cfg.wdi_countries_csv, tuple(cfg.years), cfg.impute, cfg.normalise,
                                cfg.engineer, cfg.split_seed)
        self._pool_rows = self.panel.countries(cfg.split)
        if len(self._pool_rows) == 0:
            raise MarllocError(f"split {cfg.split!r} of {self.panel.source} has no country; try split='all'")
        self._fixed = (np.array([self.panel.index(c) for c in cfg.countries]) if cfg.countries else None)
        self._drivers = torch.as_tensor(self.panel.drivers, dtype=torch.float32, device=dev)    # [Cp, Y, 11]
        self._features = torch.as_tensor(self.panel.features, dtype=torch.float32, device=dev)  # [Cp, Y, 10]
        self.n_features = self._features.shape[-1]

        f32 = dict(dtype=torch.float32, device=dev)
        self.cost_share = torch.linspace(*cfg.firm_cost_share, F, **f32)                        # [F] κ_f
        self.cost_rank = torch.linspace(0, 1, F, **f32) if F > 1 else torch.zeros(1, **f32)
        self.income_share = torch.as_tensor(quantile_shares(H, cfg.income_lognormal_sigma), **f32)  # [H] ς_h
        rank = torch.arange(H, **f32)
        self.exposure = 2 * (H - 1 - rank) / (H - 1) if H > 1 else torch.ones(1, **f32)         # [H] ω_h
        tw = (H - rank)
        self.transfer_weight = tw / tw.sum()                                                    # [H] τw_h
        self.q_max = cfg.firm_capacity / F
        self.s_ref = (1 + cfg.min_consumption_share) / 2
        self._levels = torch.linspace(0, 1, K, **f32)                                           # level → [0, 1]

        d = self.n_features
        self.roles = {
            "government": RoleSpec("government", C, d + len(GOVERNMENT_OBS),
                                   {"infrastructure": Discrete(K), "subsidy": Discrete(K)},
                                   (*self.panel.feature_names, *GOVERNMENT_OBS)),
            "firm": RoleSpec("firm", C * F, d + len(FIRM_OBS), {"level": Discrete(K)},
                             (*self.panel.feature_names, *FIRM_OBS)),
            "consumer": RoleSpec("consumer", C * H, d + len(CONSUMER_OBS), {"level": Discrete(K)},
                                 (*self.panel.feature_names, *CONSUMER_OBS)),
        }
        self.state_dim = C * (d + len(COUNTRY_STATE)) + 1
        self._s: EconomyState | None = None

    # --- reset ----------------------------------------------------------------------------
    def reset(self, n_envs: int = 1, seed: int | None = None) -> Step:
        if not isinstance(n_envs, int) or n_envs < 1:
            raise MarllocError(f"n_envs must be an integer ≥ 1, got {n_envs!r}; try n_envs=1")
        cfg, dev = self.config, self.device
        seed = 0 if seed is None else int(seed)
        self._seed, self.n_envs = seed, n_envs
        E, C, F, H = n_envs, self.n_countries, self.n_firms, self.n_households
        rng = numpy_rng(seed, "economy_reset")
        if self._fixed is not None:
            rows = np.tile(self._fixed, (E, 1))
        else:
            pool = self._pool_rows
            rows = np.stack([rng.choice(pool, C, replace=len(pool) < C) for _ in range(E)])
        n_years = self._drivers.shape[1]
        ep_years = math.ceil(cfg.episode_steps / 4)
        start = rng.integers(0, n_years - ep_years + 1, size=E)
        years = torch.as_tensor(start[:, None] + np.arange(ep_years), device=dev)             # [E, Y_ep]
        country = torch.as_tensor(rows, dtype=torch.long, device=dev)
        drivers = self._drivers[country[:, :, None], years[:, None, :]]                       # [E, C, Y_ep, 11]
        features = self._features[country[:, :, None], years[:, None, :]]
        f32 = dict(dtype=torch.float32, device=dev)
        k0 = drivers[:, :, 0, _D["infrastructure_pct_gdp"]]
        self._s = EconomyState(
            step=0, country=country, drivers=drivers, features=features,
            infra=cfg.public_capital_share * k0.clamp_min(0) / 100 / cfg.infrastructure_depreciation,
            savings=torch.zeros(E, C, **f32),
            output=torch.zeros(E, C, F, **f32), unit_cost=torch.zeros(E, C, F, **f32),
            price=torch.full((E, C), cfg.reference_price, **f32), rationing=torch.ones(E, C, **f32),
            income=torch.zeros(E, C, H, **f32), share=torch.zeros(E, C, H, **f32),
            transfer=torch.zeros(E, C, H, **f32), split=torch.zeros(E, C, 3, **f32),
            gini=torch.zeros(E, C, **f32),
        )
        zero = {r.name: torch.zeros(E, r.n_agents, **f32) for r in self.roles.values()}
        return self._observe(zero, torch.zeros(E, dtype=torch.bool, device=dev), {})

    # --- the year's exogenous quantities ------------------------------------------------------
    def _exogenous(self, s: EconomyState) -> dict[str, Tensor]:
        """A, τ, w, the demand factors and the pool for the current step ([E, C] each, D_h [E, C, H])."""
        cfg = self.config
        y = min(s.step, cfg.episode_steps - 1) // 4
        g = {n: s.drivers[:, :, y, i] for n, i in _D.items()}
        A = ((g["gdp_pc_usd"].clamp_min(1.0) / cfg.gdp_ref_usd) ** cfg.gdp_elasticity
             * (1 + cfg.fdi_return * g["fdi_pct_gdp"].clamp(-10, 50) / 100))
        tau = ((g["health_pct_gdp"] + g["education_pct_gdp"]) / 100).clamp(0, 0.9)
        wedge = ((1 + cfg.inflation_cost * g["inflation_pct"].clamp(-10, 100) / 100)
                 * (1 - cfg.trade_balance_cost * g["trade_balance_pct_gdp"].clamp(-30, 30) / 100))
        pop = (1 + cfg.pop_growth_demand * g["pop_growth_pct"] / 100).clamp_min(0.1)
        u = g["unemployment_pct"].clamp(0, 100) / 100
        pool = (cfg.pool_scale * (g["investment_pct_gdp"].clamp_min(0) + g["fdi_pct_gdp"].clamp_min(0)) / 100
                + cfg.savings_to_pool * s.savings)
        return dict(
            A=A, tau=tau, wedge=wedge, u=u, pool=pool,
            D_firm=(pop * (1 - cfg.unemployment_demand * u)).clamp_min(0.1),
            D_cons=pop[..., None] * (1 + cfg.unemployment_demand * self.exposure * u[..., None]),
            D_gov=1 + cfg.unemployment_demand * u,
        )

    # --- step -------------------------------------------------------------------------------
    def step(self, actions: dict[str, dict[str, Tensor]], check: bool = True) -> Step:
        s = self._s
        if s is None:
            raise MarllocError("call reset() before step()")
        if check:
            validate_actions(self.roles, actions, self.n_envs)
        cfg = self.config
        E, C, F, H = self.n_envs, self.n_countries, self.n_firms, self.n_households
        x = self._exogenous(s)
        A, tau = x["A"], x["tau"]
        lv = self._levels

        # government: budget shares (ι, σ̃, ω)
        gov = actions["government"]
        iota = lv[gov["infrastructure"]]                                                     # [E, C]
        sub = (1 - iota) * lv[gov["subsidy"]]
        redis = (1 - iota - sub).clamp_min(0)
        B = tau * A

        # consumers: income, consumption, savings (money in units of A below: ÷ A)
        transfer = redis[..., None] * tau[..., None] * H * self.transfer_weight               # [E, C, H] T_h / A
        employed = (1 - self.exposure * x["u"][..., None]).clamp_min(0)
        income = (1 - tau[..., None]) * H * self.income_share * employed + transfer           # y_h / A
        share = cfg.min_consumption_share + (1 - cfg.min_consumption_share) * lv[actions["consumer"]["level"].view(E, C, H)]
        cons = share * income                                                                # c_h / A
        saved = income - cons                                                                # z_h / A
        M = cons.sum(-1) / (self.s_ref * income.sum(-1)).clamp_min(1e-6)                    # [E, C]

        # firms: requests, rationing by the capital pool, market price, costs
        q = lv[actions["firm"]["level"].view(E, C, F)] * self.q_max                          # [E, C, F]
        Q = q.sum(-1)
        ration = (x["pool"] / Q.clamp_min(1e-9)).clamp(max=1.0)
        out = q * ration[..., None]
        X = out.sum(-1)
        price = (M - X).clamp_min(0)                                                         # P / A (a/A = M, b/A = 1)
        subsidy = sub * tau / cfg.firm_capacity                                              # σ / A
        unit_cost = (self.cost_share * x["wedge"][..., None]
                     / (1 + cfg.infrastructure_cost_effect * s.infra[..., None]) - subsidy[..., None])
        R_f = A[..., None] * price[..., None] * out
        C_f = A[..., None] * unit_cost * out
        D_f = x["D_firm"][..., None].expand(E, C, F)

        # consumers' value of consumption and savings, at this step's market price
        p_hat = price.clamp_min(0.05) / cfg.reference_price
        R_h = A[..., None] * (cfg.consumption_value * torch.log1p(cons / p_hat[..., None]) + cfg.savings_value * saved)
        C_h = A[..., None] * (x["wedge"][..., None] - 1) * cons
        D_h = x["D_cons"]

        # government: social welfare minus the budget
        g_income = gini(income)                                                              # [E, C]
        profit = (R_f - C_f).sum(-1)
        R_g = (R_h - C_h).mean(-1) + profit - cfg.inequality_aversion * A * g_income.float()
        C_g = B
        D_g = x["D_gov"]

        r_f, r_h, r_g = (R_f - C_f) * D_f, (R_h - C_h) * D_h, (R_g - C_g) * D_g
        reward = {"government": r_g, "firm": r_f.reshape(E, C * F), "consumer": r_h.reshape(E, C * H)}

        info = {
            "economy/utility": torch.cat([r_g, r_f.reshape(E, -1), r_h.reshape(E, -1)], 1).mean(1),
            "economy/gini": g_income.float().mean(1),
            "economy/price": price.mean(1), "economy/output": X.mean(1), "economy/pool": x["pool"].mean(1),
            "economy/pool_use": (Q / x["pool"].clamp_min(1e-9)).mean(1),
            "economy/synthetic": torch.full((E,), float(self.panel.synthetic), device=self.device),
            "government/R": R_g, "government/C": C_g, "government/D": D_g,
            "government/shares": torch.stack([iota, sub, redis], -1),
            "firm/R": R_f.reshape(E, -1), "firm/C": C_f.reshape(E, -1), "firm/D": D_f.reshape(E, -1),
            "firm/output": out.reshape(E, -1), "firm/unit_cost": (A[..., None] * unit_cost).reshape(E, -1),
            "consumer/R": R_h.reshape(E, -1), "consumer/C": C_h.reshape(E, -1), "consumer/D": D_h.reshape(E, -1),
            "consumer/income": (A[..., None] * income).reshape(E, -1),
            "consumer/consumption": (A[..., None] * cons).reshape(E, -1),
            "country/a": A * M, "country/b": A, "country/pool": x["pool"],
        }

        # --- state transition ---
        s.infra = (1 - cfg.infrastructure_depreciation) * s.infra + iota * tau
        s.savings = saved.mean(-1)
        s.output, s.unit_cost, s.price, s.rationing = out, unit_cost, price, ration
        s.income, s.share, s.transfer, s.gini = income, share, transfer, g_income.float()
        s.split = torch.stack([iota, sub, redis], -1)
        s.step += 1
        truncated = torch.full((E,), s.step >= cfg.episode_steps, dtype=torch.bool, device=self.device)
        return self._observe(reward, truncated, info)

    # --- observations -------------------------------------------------------------------------
    def _observe(self, reward: dict[str, Tensor], truncated: Tensor, info: dict[str, Tensor]) -> Step:
        s, cfg = self._s, self.config
        E, C, F, H = self.n_envs, self.n_countries, self.n_firms, self.n_households
        x = self._exogenous(s)
        y = min(s.step, cfg.episode_steps - 1) // 4
        feat = s.features[:, :, y]                                                           # [E, C, 10]
        t = torch.full((E, C), s.step / cfg.episode_steps, device=self.device)
        X, price = s.output.sum(-1), s.price

        def per(v, n):  # a per-country [E, C] value repeated for the n agents of each country
            return v[..., None].expand(E, C, n)

        firm = torch.stack([
            s.output / self.q_max, s.unit_cost, per(price, F), per(X, F), per(x["pool"], F), per(s.rationing, F),
            per(s.infra, F), per(x["D_firm"], F), self.cost_rank.expand(E, C, F), per(t, F),
        ], -1)
        cons = torch.stack([
            s.income, s.share, s.transfer, per(price.clamp_min(0.05) / cfg.reference_price, H),
            per(x["wedge"], H), x["D_cons"], (H * self.income_share).expand(E, C, H), per(s.savings, H),
            per(s.gini, H), per(t, H),
        ], -1)
        gov = torch.stack([x["tau"], s.infra, s.gini, s.income.mean(-1), X, price, *s.split.unbind(-1), t], -1)
        obs = {
            "government": torch.cat([feat, gov], -1),
            "firm": torch.cat([feat[:, :, None].expand(E, C, F, -1), firm], -1).reshape(E, C * F, -1),
            "consumer": torch.cat([feat[:, :, None].expand(E, C, H, -1), cons], -1).reshape(E, C * H, -1),
        }
        country = torch.cat([feat, torch.stack([s.infra, s.savings, price, X, s.gini, x["pool"]], -1)], -1)
        state = torch.cat([country.reshape(E, -1), t[:, :1]], 1)
        dev = self.device
        return Step(
            obs=obs, reward=reward,
            active={r.name: torch.ones(E, r.n_agents, dtype=torch.bool, device=dev) for r in self.roles.values()},
            done={r.name: torch.zeros(E, r.n_agents, dtype=torch.bool, device=dev) for r in self.roles.values()},
            state=state, terminated=torch.zeros(E, dtype=torch.bool, device=dev), truncated=truncated, info=info,
        )

    def select(self, idx: Tensor) -> Economy:
        """A new batch holding copies of this batch's environments ``idx`` (repeats allowed) in their
        current state: what-if steps for deviation searches and planners, leaving this one untouched."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before select()")
        other = copy.copy(self)  # config, panel tensors and role specs are read-only: shared
        other._seed, other.n_envs = self._seed, len(idx)
        other._s = EconomyState(step=s.step, **{k: getattr(s, k)[idx].clone() for k in self._DYNAMIC})
        return other

    def agent_groups(self) -> dict[str, Tensor]:
        """The country of every agent, per role (``[n_agents]`` long): the agents whose actions
        reach an agent's payoff, used by mean-field learners to average the others' actions."""
        C, F, H, dev = self.n_countries, self.n_firms, self.n_households, self.device
        ar = torch.arange(C, device=dev)
        return {"government": ar, "firm": ar.repeat_interleave(F), "consumer": ar.repeat_interleave(H)}

    # --- checkpointing ------------------------------------------------------------------------
    _DYNAMIC = ("country", "drivers", "features", "infra", "savings", "output", "unit_cost", "price",
                "rationing", "income", "share", "transfer", "split", "gini")

    def state_dict(self) -> dict:
        """Everything needed to continue this batch exactly (tensors and ints only)."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before state_dict()")
        return {"seed": self._seed, "n_envs": self.n_envs, "step": s.step,
                **{k: getattr(s, k).clone() for k in self._DYNAMIC}}

    def load_state_dict(self, d: dict) -> None:
        """Continue from :meth:`state_dict` (same config)."""
        self.reset(n_envs=int(d["n_envs"]), seed=int(d["seed"]))
        self._s.step = int(d["step"])
        for k in self._DYNAMIC:
            setattr(self._s, k, d[k].to(self.device).clone())


__all__ = ["CONSUMER_OBS", "COUNTRY_STATE", "FIRM_OBS", "GOVERNMENT_OBS", "Economy", "EconomyState",
           "quantile_shares"]
