"""Behaviour of edge_market_v0: invariants over random play, known answers, events, data paths."""

from __future__ import annotations

import math

import pytest
import torch

from marlloc.envs import make
from marlloc.envs.edge import DEFAULT_TASKS, EdgeMarketConfig
from marlloc.metrics import EdgeEpisodeMetrics
from marlloc.policies import act, joint

# the real default scenario at toy size
TOY = dict(n_users=30, n_edges=3, episode_rounds=40)


def play(env, n_envs, seed, gen, rounds=None, policy=None):
    """Yield every step of one episode under random (or the given joint) policy."""
    step = env.reset(n_envs=n_envs, seed=seed)
    for _ in range(rounds or env.config.episode_rounds):
        step = env.step(act(policy, step) if policy else env.sample_actions(gen))
        yield step


EVENTS = [{"kind": "burst", "start_round": 5, "rounds": 5},
          {"kind": "node_failure", "start_round": 15, "rounds": 10},
          {"kind": "bandwidth_fluctuation", "start_round": 20, "amplitude": 0.6, "period_rounds": 6}]


@pytest.mark.parametrize("events", [(), EVENTS], ids=["calm", "events"])
def test_invariants_over_random_play(events, gen):
    env = make("edge_market_v0", **TOY, events=events, arrival_prob=0.8)
    admitted_any = 0
    for step in play(env, 4, 0, gen):
        info = step.info
        used, cap = info["provider/used"], info["provider/capacity"]
        # capacity: nothing admitted beyond capacity; without capacity drops, never exceeded at all
        hosted = torch.zeros_like(used[..., 0]).index_put_(
            (info["user/env"][info["user/admitted"]], info["user/host"][info["user/admitted"]]),
            torch.tensor(1.0), accumulate=True)
        over = used > cap * (1 + 1e-6) + 1e-6
        assert not (over.any(2) & (hosted > 0)).any()
        if not events:
            assert not over.any()
        # payments: admitted tasks pay their bid, which lies between quote and budget
        adm = info["user/admitted"]
        admitted_any += int(adm.sum())
        assert torch.equal(info["user/cost"][adm], info["user/bid"][adm])
        assert (info["user/bid"][adm] >= info["user/quote"][adm]).all()
        assert (info["user/bid"] <= info["user/budget"] * (1 + 1e-6)).all()
        assert (info["user/cost"][~adm] == 0).all()
        # latency components add up, local runs only compute
        parts = sum(info[f"user/latency_{k}_ms"] for k in ("prop", "up", "compute", "down"))
        torch.testing.assert_close(parts, info["user/latency_ms"])
        local = ~adm
        assert (info["user/latency_prop_ms"][local] == 0).all() and (info["user/latency_up_ms"][local] == 0).all()
        # utilisation and normalised QoE in [0, 1]
        u = info["provider/utilisation"]
        assert ((u >= 0) & (u <= 1)).all()
        qn = info["user/qoe_norm"]
        assert ((qn >= 0) & (qn <= 1)).all()
        # a failed node admits nothing and holds nothing
        down = ~info["provider/up"]
        assert not (hosted.bool() & down).any()
        assert (used[down] == 0).all()
        assert torch.isfinite(step.obs["user"]).all() and torch.isfinite(step.state).all()
    assert admitted_any > 50


def recount_in_flight(env) -> torch.Tensor:
    """[E, M, 5] demand and count of every user's task in flight, recounted from scratch."""
    s, E, M = env._s, env.n_envs, env.n_nodes
    bins = (torch.arange(E)[:, None] * (M + 1) + s.host).view(-1)
    used = torch.zeros(E * (M + 1), 5, dtype=torch.float64).index_add_(0, bins, env.demand5[s.task_type.view(-1)])
    return used.view(E, M + 1, 5)[:, :M]


@pytest.mark.parametrize("events", [(), EVENTS], ids=["calm", "events"])
def test_in_flight_usage_matches_a_full_recount(events, gen):
    """The incrementally maintained usage (failures included) equals a recount from every user's task."""
    env = make("edge_market_v0", **TOY, arrival_prob=0.9, events=events)
    for _ in play(env, 3, 1, gen):
        torch.testing.assert_close(env._s.used, recount_in_flight(env), rtol=0, atol=1e-9)


def _reference_admission(free, requests):
    """Plain-Python prefix rule: sort by bid/quote descending (ties: user index), admit while it fits."""
    admitted = set()
    order = sorted(requests, key=lambda r: (-r["ratio"], r["user"]))
    left = list(free)
    for r in order:
        if all(d <= f + 1e-9 for d, f in zip(r["demand"], left, strict=True)):
            admitted.add(r["user"])
            left = [f - d for d, f in zip(r["demand"], left, strict=True)]
        else:
            break
    return admitted


def test_admission_matches_a_plain_python_reference(gen):
    env = make("edge_market_v0", n_users=60, n_edges=2, episode_rounds=60, arrival_prob=0.9,
               edge_compute_tflops=(20.0, 40.0), edge_bandwidth_mbps=(800.0, 1500.0))
    demand = [t.demand for t in env.config.tasks]
    checked = 0
    for step in play(env, 2, 3, gen):
        info = step.info
        for e in range(2):
            for j in range(env.n_nodes):
                if not info["provider/up"][e, j]:
                    continue
                sel = ((info["user/env"] == e) & (info["user/target"] == j)
                       & (info["user/bid"] >= info["user/quote"])).nonzero().squeeze(1).tolist()
                reqs = [{"user": int(info["user/index"][i]),
                         "ratio": float(info["user/bid"][i].double() / info["user/quote"][i].double()),
                         "demand": demand[int(info["user/type"][i])]} for i in sel]
                want = _reference_admission(info["provider/free_before"][e, j].tolist(), reqs)
                got = {int(info["user/index"][i]) for i in sel if info["user/admitted"][i]}
                assert got == want
                checked += len(reqs)
    assert checked > 200


def test_prefix_rule_stops_at_the_first_request_that_does_not_fit():
    """Known answer: 3 users on one edge of 25 TFLOPS, each task needing 10: the two best
    bid/quote ratios get in, the third does not although 5 TFLOPS stay free."""
    task = DEFAULT_TASKS[2]  # online_qa: 5 TFLOPS, 1 round
    big = type(task)(**{**task.__dict__, "name": "big", "compute_tflops": 10.0, "share": 1.0})
    env = make("edge_market_v0", n_users=3, n_edges=1, episode_rounds=3, arrival_prob=1.0, tasks=(big,),
               edge_compute_tflops=(25.0, 25.0))
    step = env.reset(1, seed=0)
    assert step.active["user"].all()
    node = torch.full((1, 3), 1, dtype=torch.long)
    bid = torch.tensor([[0.9, 1.0, 0.85]])[..., None]
    budget = env._s.budget[0]
    price = torch.full((1, 2, 3), 0.5)
    step = env.step({"user": {"node": node, "bid": bid}, "provider": {"price": price}})
    ratio = (bid[0, :, 0] * budget / step.info["user/quote"]).tolist()
    order = sorted(range(3), key=lambda i: -ratio[i])
    admitted = step.info["user/admitted"].tolist()
    assert [admitted[i] for i in order] == [True, True, False]  # 2 × 10 ≤ 25 < 3 × 10


def test_burst_multiplies_the_arrival_rate_of_idle_users():
    env = make("edge_market_v0", n_users=500, n_edges=2, episode_rounds=200, arrival_prob=0.05,
               events=[{"kind": "burst", "start_round": 50, "rounds": 100, "factor": 3.0}])
    gen = torch.Generator().manual_seed(0)
    step = env.reset(n_envs=16, seed=0)
    new = {True: 0.0, False: 0.0}
    idle = {True: 0.0, False: 0.0}
    for t in range(199):
        step = env.step(env.sample_actions(gen))
        burst = 50 <= t + 1 < 150  # the arrivals in this step are for round t + 1
        new[burst] += float(step.active["user"].sum())
        idle[burst] += float((env._s.remaining == 0).sum())
    ratio = (new[True] / idle[True]) / (new[False] / idle[False])
    assert 2.8 < ratio < 3.2, ratio


def test_default_scenario_is_contested():
    """At 200 users and the mean arrival rate, edge-tier demand exceeds the edges' capacity."""
    env = make("edge_market_v0")
    d = env.steady_state_demand()
    assert (d["edge_tier"] > d["edge_capacity"]).any(), d
    # and Little's law, which the claim rests on, matches simulation
    gen = torch.Generator().manual_seed(0)
    arrivals = [float(s.active["user"].sum()) / 8 for s in play(env, 8, 0, gen)]
    measured = sum(arrivals[50:]) / len(arrivals[50:])
    assert abs(measured / float(d["arrivals_per_round"]) - 1) < 0.03


def test_node_failure_kills_tasks_in_flight_and_retires_the_provider():
    env = make("edge_market_v0", **{**TOY, "episode_rounds": 30}, arrival_prob=0.9,
               events=[{"kind": "node_failure", "start_round": 10, "node": 2}])
    pol = joint(env, "greedy")
    step = env.reset(4, seed=0)
    for t in range(30):
        in_flight_there = int((env._s.host == 2).sum())
        step = env.step(act(pol, step))
        if t == 10:  # the failure round: every task in flight on node 2 dies, its user pays
            assert step.info["user/killed"].numel() == in_flight_there > 0
            assert (step.reward["user"].view(-1)[step.info["user/killed"]] == -env.config.failure_penalty).all()
        else:
            assert step.info["user/killed"].numel() == 0
        assert step.done["provider"][:, 2].all() == (t + 1 >= 10)
        assert not step.done["provider"][:, [0, 1, 3]].any()
        if t >= 10:
            assert not (step.info["user/host"] == 2).any()
            assert (step.reward["provider"][:, 2] == 0).all()
            assert not step.active["provider"][:, 2].any()


def test_bandwidth_fluctuation_scales_only_bandwidth(gen):
    env = make("edge_market_v0", **TOY, events=[{"kind": "bandwidth_fluctuation", "start_round": 0,
                                               "amplitude": 0.5, "period_rounds": 8}])
    env.reset(2, seed=0)
    f = torch.stack([env._cap_factor(t) for t in range(40)])  # [R, E, M, 4]
    assert (f[..., :2] == 1).all() and (f[:, :, 0] == 1).all()  # compute, storage, and the cloud
    edge_bw = f[:, :, 1:, 2:]
    assert edge_bw.min() >= 0.5 - 1e-6 and edge_bw.max() <= 1 + 1e-6 and edge_bw.min() < 0.55


def test_select_copies_repeated_and_reordered_envs_with_their_events(gen):
    """What-if copies (``select``) of repeated and reordered environments: each copy plays its
    source's round, failed edge included (failures are drawn per environment)."""
    env = make("edge_market_v0", **TOY, events=EVENTS, arrival_prob=0.8)
    env.reset(n_envs=3, seed=4)
    for _ in range(16):  # inside the failure window
        env.step(env.sample_actions(gen))
    idx = torch.tensor([2, 0, 2, 1])
    a = env.sample_actions(gen)
    copy_step = env.select(idx).step({r: {c: v[idx] for c, v in comps.items()} for r, comps in a.items()})
    step = env.step(a)
    for r in ("user", "provider"):
        assert torch.equal(copy_step.reward[r], step.reward[r][idx])
    assert torch.equal(copy_step.info["provider/capacity"], step.info["provider/capacity"][idx])
    assert (step.info["provider/capacity"][..., 0] == 0).any(1).all()  # every environment has a failed edge


def test_post_prices_is_the_what_if_of_posting_other_prices(gen):
    env = make("edge_market_v0", **TOY, arrival_prob=0.8)
    env.reset(n_envs=2, seed=1)
    for _ in range(3):
        env.step(env.sample_actions(gen))
    a = env.sample_actions(gen)
    other = {**a, "provider": {"price": torch.rand(2, env.n_nodes, 3, generator=gen)}}
    posted = env.select(torch.arange(2)).step(other)
    copy = env.select(torch.arange(2))
    copy.step(a)
    reposted = copy.post_prices(other["provider"]["price"])
    for r in ("user", "provider"):
        assert torch.equal(reposted.obs[r], posted.obs[r]) and torch.equal(reposted.active[r], posted.active[r])


def test_unit_conversions():
    from marlloc.core import units

    assert units.transfer_ms(12, 96) == 125.0  # 12 Mbit over 96 Mbit/s
    assert units.compute_ms(0.5, 10) == 50.0   # 0.5 TFLOP at 10 TFLOPS
    assert units.gbps_to_mbps(10) == 10_000 and units.tb_to_gb(50) == 50_000
    assert units.mbyte_to_mbit(1.5) == 12.0
    vr = DEFAULT_TASKS[0]
    assert vr.in_mbps == pytest.approx(12 / 0.025)  # uplink reserved to move 12 Mbit in L_max / 4


def test_latency_of_a_lone_task_on_an_idle_node_is_its_best_latency():
    """With one user on an empty market, latency = RTT + in/access + work/C + out/access."""
    task = DEFAULT_TASKS[0]
    lone = type(task)(**{**task.__dict__, "share": 1.0})
    env = make("edge_market_v0", n_users=1, n_edges=1, episode_rounds=2, arrival_prob=1.0, tasks=(lone,))
    env.reset(1, seed=0)
    step = env.step({"user": {"node": torch.tensor([[1]]), "bid": torch.ones(1, 1, 1)},
                     "provider": {"price": torch.zeros(1, 2, 3)}})
    assert bool(step.info["user/admitted"][0])
    C, up = env.cap0[1, 0], env.cap0[1, 2]
    acc = env.access_mbps[0]
    want = (env.config.edge_rtt_ms + 12 / min(up, acc) * 1000 + 0.5 / C * 1000 + 2 / min(env.cap0[1, 3], acc) * 1000)
    assert float(step.info["user/latency_ms"][0]) == pytest.approx(float(want), rel=1e-5)
    # normalised QoE: the task paid its whole budget (bid 1.0, pay-as-bid)
    best = float(env.latency_best_ms[0, 0])
    lmax = lone.latency_max_ms
    want_qn = (math.log(lmax / float(want)) - env.config.beta) / math.log(lmax / best)
    assert float(step.info["user/qoe_norm"][0]) == pytest.approx(min(max(want_qn, 0), 1), rel=1e-5)


def test_qoe_follows_eq_1_4(gen):
    env = make("edge_market_v0", **TOY)
    step = next(iter(play(env, 2, 0, gen)))
    i = step.info
    want = torch.log(i["user/latency_max_ms"] / i["user/latency_ms"].clamp_min(1)) - 0.5 * i["user/cost"] / i["user/budget"]
    torch.testing.assert_close(i["user/qoe"], want)
    r = step.reward["user"].view(-1)[i["user/index"]]
    torch.testing.assert_close(r, want - 0.5 * i["user/cost"] / i["user/budget"])


def test_greedy_beats_random_on_the_default_market():
    env = make("edge_market_v0", episode_rounds=60)
    from marlloc.evaluation import rollout

    r = rollout(env, joint(env, "random"), 2, 0)
    g = rollout(env, joint(env, "greedy"), 2, 0)
    assert float(g["avg_qoe"].mean()) > float(r["avg_qoe"].mean())
    assert set(EdgeEpisodeMetrics.KEYS) <= set(g)


def test_real_arrival_trace_and_topology(shared_data, gen):
    cfg = dict(**TOY, arrival_trace_csv=str(shared_data / "nasa_http_1995/nasa_requests_per_minute.csv"),
               sites_csv=str(shared_data / "eua/site-optus-melbCBD.csv"),
               users_csv=str(shared_data / "eua/users-melbcbd-generated.csv"))
    env = make("edge_market_v0", **cfg)
    assert env._trace is not None and abs(float(env._trace.mean()) - 1) < 1e-5
    rtt = env.rtt_ms[:, 1:]
    edge, far = env.config.edge_rtt_ms, env.config.edge_rtt_ms + env.config.man_extra_rtt_ms
    assert ((rtt == edge) | (rtt == far)).all() and (rtt == far).any()
    env.reset(2, seed=0)
    assert not torch.equal(env._s.arrival_mult[0], env._s.arrival_mult[1])  # random trace offsets
    for _ in play(env, 2, 0, gen, rounds=10):
        pass


def test_config_from_dict_round_trip():
    from marlloc.core.config import to_dict

    cfg = EdgeMarketConfig.from_dict({"n_users": 7, "events": EVENTS})
    again = EdgeMarketConfig.from_dict(to_dict(cfg))
    assert again == cfg and again.events[0].kind == "burst"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"cloud_compute_tflops": -5.0}, "cloud_compute_tflops"),
    ({"n_users": 0}, "n_users"),
    ({"edge_bandwidth_mbps": (2000.0, 1000.0)}, "edge_bandwidth_mbps"),
    ({"tasks": [{**DEFAULT_TASKS[0].__dict__, "latency_max_ms": 0.0, "share": 1.0}]}, "latency_max_ms"),
    ({"events": [{"kind": "earthquake", "start_round": 3}]}, "kind"),
    ({"events": [{"kind": "burst", "start_round": 3, "speed": 2}]}, "speed"),
    ({"n_userz": 3}, "n_userz"),
    ({"arrival_prob": 1.5}, "arrival_prob"),
])
def test_bad_config_is_one_line_naming_field_and_value(overrides, field):
    from marlloc.core.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        make("edge_market_v0", **overrides)
    msg = str(e.value)
    assert "\n" not in msg and field in msg


def test_malformed_topology_csv_is_one_line(tmp_path):
    from marlloc.core.errors import DataError

    sites = tmp_path / "sites.csv"
    sites.write_text("SITE_ID,LATITUDE,LONGITUDE\n1,-37.81,abc\n")
    users = tmp_path / "users.csv"
    users.write_text("Latitude,Longitude\n-37.81,144.96\n")
    with pytest.raises(DataError) as e:
        make("edge_market_v0", n_edges=1, sites_csv=str(sites), users_csv=str(users))
    assert "\n" not in str(e.value) and "sites.csv" in str(e.value)


def test_failure_node_defaults_to_a_random_edge_per_env():
    env = make("edge_market_v0", **TOY, events=[{"kind": "node_failure", "start_round": 2}])
    env.reset(16, seed=0)
    failed = env._cap_factor(5)[..., 0] == 0
    assert (failed.sum(1) == 1).all() and not failed[:, 0].any() and failed.any(0)[1:].sum() > 1
    assert not (env._cap_factor(1)[..., 0] == 0).any()
    assert math.isfinite(float(env._s.hazard[:, -1].max()))


def test_bandwidth_fluctuation_from_a_real_trace(shared_data):
    trace = str(shared_data / "datacenter_traces_agg/alibaba2018_machine_usage_days1-8_300s.csv")
    env = make("edge_market_v0", **TOY, events=[{"kind": "bandwidth_fluctuation", "start_round": 3,
                                               "amplitude": 0.4, "trace_csv": trace, "trace_column": "net_in"}])
    env.reset(1, seed=0)
    f = torch.stack([env._cap_factor(t)[0, 1, 2] for t in range(40)])
    assert (f[:3] == 1).all() and (f[3:] >= 0.6 - 1e-6).all() and (f[3:] < 1).all() and f[3:].std() > 0
