"""economy_v0: reward form, the causal links of seed 004 §3.6 as monotone relations, the capital
pool, the Cournot reduction against its closed form, data wiring and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marlloc.core.errors import ConfigError
from marlloc.data.panel import DRIVER_NAMES, load_panel
from marlloc.envs import make
from marlloc.envs.economy import Economy
from marlloc.envs.economy.economy import quantile_shares

ISO = load_panel().iso3[0]  # a synthetic country: the causal tests overwrite its drivers anyway


def one_country(**kw) -> Economy:
    return Economy(n_countries=1, countries=(ISO,), split="all", **kw)


def acts(env, firm=3, consumer=5, infra=3, subsidy=3):
    """The same action for every agent of a role, broadcast over envs (tensors or ints)."""
    E = env.n_envs

    def full(v, n):
        v = torch.as_tensor(v)
        return (v.view(-1, 1) if v.dim() else v).expand(E, n).long().contiguous()

    r = env.roles
    return {"firm": {"level": full(firm, r["firm"].n_agents)},
            "consumer": {"level": full(consumer, r["consumer"].n_agents)},
            "government": {"infrastructure": full(infra, r["government"].n_agents),
                           "subsidy": full(subsidy, r["government"].n_agents)}}


def probe(driver: str, values, **action_kw):
    """One step from identical states that differ only in one driver (one value per env)."""
    env = one_country()
    env.reset(len(values), seed=0)
    env._s.drivers[..., DRIVER_NAMES.index(driver)] = torch.tensor(values, dtype=torch.float32)[:, None, None]
    return env.step(acts(env, **action_kw)).info


def increasing(x: torch.Tensor) -> bool:
    x = x.reshape(x.shape[0], -1)
    return bool((x[1:] > x[:-1]).all())


def decreasing(x: torch.Tensor) -> bool:
    return increasing(-x)


# --- reward form and bookkeeping ---------------------------------------------------------------

def test_every_reward_is_r_minus_c_times_d(gen):
    env = make("economy_v0", n_countries=3)
    env.reset(4, seed=1)
    for _ in range(6):
        st = env.step(env.sample_actions(gen))
        for role in env.roles:
            want = (st.info[f"{role}/R"] - st.info[f"{role}/C"]) * st.info[f"{role}/D"]
            assert torch.allclose(st.reward[role], want, rtol=1e-5, atol=1e-6), role


def test_default_is_100_agents_on_synthetic_data_labelled_so():
    env = make("economy_v0")
    assert {r: s.n_agents for r, s in env.roles.items()} == {"government": 10, "firm": 40, "consumer": 50}
    assert all(s.obs_dim == 20 for s in env.roles.values())
    env.reset(2, seed=0)
    st = env.step(acts(env))
    assert env.panel.synthetic and bool((st.info["economy/synthetic"] == 1).all())


def test_quantile_shares_sum_to_one_and_match_the_lognormal_gini():
    s = quantile_shares(1000, 0.8)
    assert s.sum() == pytest.approx(1.0) and (np.diff(s) > 0).all()
    gini = 1 - 2 * np.sum(np.cumsum(s) - s / 2) / len(s)  # Lorenz-curve area
    assert gini == pytest.approx(0.4284, abs=2e-3)  # 2Φ(σ/√2) − 1 at σ = 0.8


# --- causal links (seed 004 §3.6), each a monotone relation --------------------------------------

def test_gdp_per_capita_raises_returns():
    info = probe("gdp_pc_usd", [2_000.0, 8_000.0, 30_000.0, 90_000.0])
    profit = info["firm/R"] - info["firm/C"]
    assert (profit > 0).all() and increasing(profit)
    assert increasing(info["consumer/R"]) and increasing(info["government/R"])


def test_fdi_raises_returns_and_the_capital_pool():
    info = probe("fdi_pct_gdp", [-5.0, 0.0, 3.0, 10.0, 30.0])
    assert increasing(info["firm/R"] - info["firm/C"])
    assert increasing(info["country/pool"][1:]) and info["country/pool"][0] == info["country/pool"][1]


def test_population_growth_raises_every_demand_factor():
    info = probe("pop_growth_pct", [-1.0, 0.5, 2.0, 4.0])
    for role in ("firm", "consumer"):
        assert increasing(info[f"{role}/D"]), role


def test_unemployment_shrinks_the_market_and_makes_needs_urgent():
    info = probe("unemployment_pct", [2.0, 6.0, 12.0, 25.0])
    assert decreasing(info["firm/D"])
    assert increasing(info["government/D"])
    assert increasing(info["consumer/D"][:, :-1])           # every group but the richest (exposure 0)
    assert decreasing(info["consumer/income"][:, 0])        # the poorest group loses income


def test_public_expenditure_sets_the_government_budget():
    health = probe("health_pct_gdp", [2.0, 5.0, 9.0])
    education = probe("education_pct_gdp", [2.0, 4.0, 7.0])
    assert increasing(health["government/C"]) and increasing(education["government/C"])
    # at a redistributing split a larger budget means larger transfers to the poorest group
    rich_state = probe("health_pct_gdp", [2.0, 5.0, 9.0], infra=0, subsidy=0)
    assert increasing(rich_state["consumer/income"][:, 0])


@pytest.mark.parametrize(("driver", "values", "direction"), [
    ("inflation_pct", [-2.0, 2.0, 8.0, 40.0], increasing),
    ("trade_balance_pct_gdp", [-20.0, -5.0, 0.0, 10.0], decreasing),
])
def test_inflation_and_trade_balance_move_costs(driver, values, direction):
    info = probe(driver, values)
    assert direction(info["firm/C"]) and direction(info["consumer/C"])


def test_government_levers_work_in_their_documented_direction():
    env = one_country()
    env.reset(3, seed=0)
    # subsidies lower firms' unit cost now
    st = env.step(acts(env, infra=0, subsidy=torch.tensor([0, 5, 10])))
    assert decreasing(st.info["firm/unit_cost"])
    # redistribution lowers the income Gini now
    env.reset(3, seed=0)
    st = env.step(acts(env, infra=torch.tensor([10, 5, 0]), subsidy=0))
    assert decreasing(st.info["economy/gini"])
    # infrastructure lowers unit costs from the next quarter on
    env.reset(3, seed=0)
    env.step(acts(env, infra=torch.tensor([0, 5, 10]), subsidy=0))
    st = env.step(acts(env, infra=0, subsidy=0))
    assert decreasing(st.info["firm/unit_cost"])


def test_household_savings_feed_next_quarters_capital_pool():
    env = one_country()
    env.reset(3, seed=0)
    env.step(acts(env, consumer=torch.tensor([10, 5, 0])))  # consume all, some, the minimum
    st = env.step(acts(env))
    assert increasing(st.info["country/pool"])


# --- the shared scarce resource ------------------------------------------------------------------

def test_capital_pool_is_never_exceeded_and_rations_proportionally(gen):
    env = make("economy_v0", n_countries=4)
    env.reset(3, seed=2)
    for level in (10, 7, 2):
        st = env.step(acts(env, firm=level))
        out = st.info["firm/output"].view(3, 4, -1)
        pool = st.info["country/pool"]
        assert (out.sum(-1) <= pool * (1 + 1e-5)).all()
        req = level / 10 * env.q_max
        rationed = out.sum(-1) < req * env.n_firms * (1 - 1e-6)
        assert torch.allclose(out[rationed], pool[rationed][:, None].expand(-1, 4) / 4, rtol=1e-5)
    assert rationed.logical_not().any()  # low requests fit in the pool


# --- the Cournot reduction (design/economy.md requirement 5) -------------------------------------

def test_firm_subgame_is_the_cournot_game_and_its_equilibrium_is_the_closed_form(gen):
    F, K = 4, 1001
    env = one_country(n_firms=F, n_levels=K, pool_scale=100.0)  # the pool never binds here
    E = 64
    env.reset(E, seed=0)
    levels = torch.randint(0, 300, (E, F), generator=gen)  # keeps a − bQ > 0
    mid = (K - 1) // 2  # consumers at the reference share: a/b = 1, so a − bQ > 0 below
    st = env.step(acts(env, consumer=mid, infra=mid, subsidy=mid) | {"firm": {"level": levels}})
    a, b = st.info["country/a"][:, 0], st.info["country/b"][:, 0]
    c, D = st.info["firm/unit_cost"], st.info["firm/D"]
    # a, b, c and D do not depend on the firms' actions: the same for every profile
    for v in (a, b, c, D):
        assert torch.allclose(v, v[:1].expand_as(v))
    q = levels.float() / (K - 1) * env.q_max
    cournot = D * (a[:, None] - b[:, None] * q.sum(1, keepdim=True) - c) * q
    assert torch.allclose(st.reward["firm"], cournot, rtol=1e-5, atol=1e-7)

    # closed form (game-theory.md G1): q_i* = (a − (n+1)c_i + Σc)/((n+1)b)
    a0, b0, c0 = float(a[0]), float(b[0]), c[0].double()
    q_star = (a0 - (F + 1) * c0 + c0.sum()) / ((F + 1) * b0)
    assert (q_star > 0).all()
    star_level = torch.round(q_star / env.q_max * (K - 1)).long()
    for i in range(F):
        env.reset(K, seed=0)
        prof = star_level.expand(K, F).clone()
        prof[:, i] = torch.arange(K)
        r = env.step(acts(env, consumer=mid, infra=mid, subsidy=mid) | {"firm": {"level": prof}}).reward["firm"][:, i]
        best = int(r.argmax())
        assert abs(best - float(q_star[i] / env.q_max * (K - 1))) <= 1.0, (i, best)


# --- data, time and checkpoints ----------------------------------------------------------------

def test_indicators_are_held_within_a_year():
    env = one_country()
    env.reset(1, seed=0)
    feats = [env.step(acts(env)).obs["firm"][0, 0, :10].clone() for _ in range(12)]
    # after step t the observation shows the year of step t + 1: years change after steps 3, 7, 11
    for t in range(11):
        same = torch.equal(feats[t], feats[t + 1])
        assert same == ((t + 2) % 4 != 0), t


def test_real_world_bank_path(shared_data):
    wb = shared_data / "worldbank"
    env = make("economy_v0", wdi=str(wb / "wdi_snapshot.csv"), wdi_countries_csv=str(wb / "wdi_countries.csv"),
               n_countries=2, countries=("DEU", "BRA"), split="all")
    st = env.reset(1, seed=0)
    k = env.panel.index("DEU")
    assert torch.allclose(st.obs["government"][0, 0, :10], torch.as_tensor(env.panel.features[k, 0]))
    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        st = env.step(env.sample_actions(g))
        assert all(torch.isfinite(v).all() for v in st.reward.values())
    assert bool(st.truncated.all()) and bool((st.info["economy/synthetic"] == 0).all())


def test_state_dict_resumes_exactly(gen):
    env = make("economy_v0", n_countries=2)
    env.reset(3, seed=4)
    for _ in range(5):
        env.step(env.sample_actions(gen))
    saved = env.state_dict()
    g2 = torch.Generator().manual_seed(7)
    a = [env.step(env.sample_actions(g2)).reward for _ in range(6)]
    other = make("economy_v0", n_countries=2)
    other.load_state_dict(saved)
    g2 = torch.Generator().manual_seed(7)
    b = [other.step(other.sample_actions(g2)).reward for _ in range(6)]
    assert all(torch.equal(x[r], y[r]) for x, y in zip(a, b, strict=True) for r in x)


@pytest.mark.parametrize(("kw", "match"), [
    (dict(n_countries=0), "n_countries must be an integer ≥ 1"),
    (dict(n_levels=1), "n_levels must be an integer ≥ 2"),
    (dict(episode_steps=200), "fit in the 25-year window"),
    (dict(countries=("DEU",), n_countries=2), "hold n_countries=2"),
    (dict(split="holdout"), "split must be train, val, test or all"),
    (dict(wdi="/nonexistent/wdi.csv"), "wdi must be a tidy CSV"),
    (dict(firm_cost_share=(0.6, 0.2)), "firm_cost_share"),
    (dict(n_firm=3), "unknown economy_v0 field 'n_firm'"),
])
def test_bad_config_is_one_line(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        make("economy_v0", **kw)
    assert "\n" not in str(e.value)


def test_unknown_country_is_one_line():
    with pytest.raises(Exception, match="not in the panel") as e:
        make("economy_v0", n_countries=1, countries=("XXX",))
    assert "\n" not in str(e.value)
