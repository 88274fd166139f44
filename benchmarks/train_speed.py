"""Training speed and memory of MADDPG on ``edge_market_v0``, and why its critic must be pooled.

What is timed
-------------
1. **End-to-end training** (``--e2e-users`` × ``--e2e-rounds``). For each N, one fresh
   subprocess (this script with ``--_child``) runs exactly what ``marlloc train`` runs::

       train(MaddpgConfig(), {"n_users": N}, rounds=R, seed, out=<temporary folder>,
             eval_every_rounds=100, eval_episodes=2, checkpoint_every_rounds=500, final_episodes=5)

   *wall s* is the child's whole life (interpreter start and imports included); *train s* is
   the ``train`` call alone. **Peak memory** is the child's ``ru_maxrss`` (KiB on Linux), read
   with ``os.wait4`` when it exits, so each N has its own peak. ``RUSAGE_CHILDREN`` holds the
   same number but as a maximum over every child reaped so far, so it cannot separate the N; it
   is kept in the JSON as a cross-check. Caveat: on Linux a child started by ``exec`` inherits
   its parent's peak RSS as the floor of its own ``ru_maxrss``, so this section runs first and
   the parent imports neither torch nor marlloc until the children are done (the parent's peak
   at launch is printed).

   **Split** of the train time, measured inside the child by wrapping functions at run time
   (the library is not modified): *setup* = from the ``train`` call to the first action (two
   environments, the learner and its preallocated replay buffers; the first ``torch.optim.Adam``
   also imports ``torch._dynamo``, a few seconds once), *act* = ``Maddpg.explore``, *env* =
   ``EdgeMarket.step`` of the training environment, *store* = ``Maddpg.store``, *update* =
   ``Maddpg.update``, *eval* = the periodic ``marlloc.evaluation.rollout`` of the greedy actors, *ckpt* =
   ``_save_checkpoint`` + ``_write_rows``, *final* = the closing ``evaluate`` (with its per-round
   LP bound) + ``write``, *other* = the rest (metric rows, schedule, progress). Also reported: the
   final summary's ``system_utility`` and ``utility_vs_bound`` means of policy ``maddpg``.
2. **Update cost per round vs N** (``--update-users``). For each N: ``make(..., n_users=N,
   episode_rounds=10_000)``, ``Maddpg(env, MaddpgConfig(warmup_rounds=0))``, then collection
   rounds (``explore`` → ``env.step(check=False)`` → ``store``) until both replay buffers hold
   ≥ ``batch_size`` agent-transitions (providers add M = 6 a round: about 43 rounds), at least
   ``MIN_COLLECT`` rounds. *collect ms* is the median of those rounds; one untimed ``update()``
   follows (optimiser state allocation), then ``--update-reps`` timed ``update()`` calls give
   *update ms* (median). A minibatch is random (round, agent) pairs and the pooled critics'
   inputs do not depend on N, so the update should cost the same at 50 and 10,000 users;
   collection (the environment and the actor over the active users) grows with N. Ratios are
   to the smallest N of this run.
3. **Why the faithful (full-concatenation) critic cannot scale** (``--full-critic-users``).
   MADDPG's user critic sees every agent's observation and action: input width
   ``user_obs + (M + 2) + N·(user_obs + M + 2) + M·(provider_obs + 3)``; the pooled critic sees
   ``user_obs + (M + 2) + state_dim + 2·(M + 1)`` whatever N. Parameter counts are computed for
   ``Critic(n_in, hidden)`` with the default hidden (256, 256, 256) (and checked against the
   module where one is built); *weights+Adam MB* = parameters × 4 bytes × 3 (weights and Adam's
   two moments); *replay GB* is what ``Maddpg``'s two ring buffers would hold at ``replay_size``
   with that context width (the user rows store the context once, provider rows twice: now and
   next); *train GB* adds both critics (weights, gradients, Adam; the provider's target too).
   For N ≤ ``--full-critic-max-time-users`` (1,000) a forward + backward pass of a batch of 256
   through a freshly built full critic is timed (median of ``--critic-reps``) against the same
   pass through the pooled critic; bigger N are not built at all (a tensor of 10,000 users'
   inputs could crowd a shared machine), and a pass whose estimated memory exceeds
   ``MEMORY_LIMIT_GB`` prints "would need X GB" instead.

Targets (PASS/MISS; "N/A (not run)" when the run did not include the size):

- 5,000 rounds at 200 users in ≤ 10 minutes on 2 cores (*wall s* of the N = 200 child);
- peak memory ≤ 4 GB (largest child peak over the end-to-end rows with ≥ 5,000 rounds);
- 10,000 users train (the N = 10,000 collection rounds and updates of section 2 ran);
- update cost flat in N (max / min median update ms over section 2 ≤ 1.5).

Machine info (``os.cpu_count()``, torch version and threads) is printed. Run it on an otherwise
idle machine: when another process keeps the cores busy, torch's intra-op threads wait for each
other and the matrix-heavy timings (updates, critic passes) inflate many-fold (about 20x was seen
with 2 threads on 2 busy cores); ``--threads 1`` limits that but is not the "2 cores" target.
``--json`` makes the last line of stdout one JSON object with keys ``e2e``, ``update``,
``full_critic`` (lists of rows), ``targets`` and run metadata.

Usage::

    python benchmarks/train_speed.py                 # full run (two full training runs: long)
    python benchmarks/train_speed.py --quick --json  # smoke test (under a minute)
"""

from __future__ import annotations

# Only the standard library at module level: torch and marlloc are imported inside the functions
# that need them, after the end-to-end children have run (see "Caveat" above).
import argparse
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import clean, ints, table, verdict

ENV_ID = "edge_market_v0"
ROOT = Path(__file__).resolve().parents[1]
UPDATE_HORIZON = 10_000  # episode_rounds of section 2: no episode ends while collecting
MIN_COLLECT = 20  # collection rounds timed at least, even when the buffers fill sooner
MAX_COLLECT = 2_000  # give up if the buffers are still short of a batch after this many rounds
CRITIC_BATCH = 256
MEMORY_LIMIT_GB = 4.0
TARGET_USERS, TARGET_ROUNDS, TARGET_WALL_S = 200, 5000, 600.0
TARGET_BIG_USERS, TARGET_FLAT_RATIO = 10_000, 1.5
SPLIT_KEYS = ("setup", "act", "env", "store", "update", "eval", "ckpt", "final", "other")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--e2e-users", type=ints, default=[200, 2000],
                   help="users N of the end-to-end training runs (default 200,2000; empty to skip)")
    p.add_argument("--e2e-rounds", type=int, default=5000, help="training rounds per run (default 5000)")
    p.add_argument("--eval-every", type=int, default=100, help="eval_every_rounds (default 100)")
    p.add_argument("--eval-episodes", type=int, default=2, help="eval_episodes (default 2)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="checkpoint_every_rounds (default 500)")
    p.add_argument("--final-episodes", type=int, default=5, help="final_episodes (default 5)")
    p.add_argument("--update-users", type=ints, default=[50, 500, 10000],
                   help="users N of the update-cost section (default 50,500,10000; empty to skip)")
    p.add_argument("--update-reps", type=int, default=30, help="timed update() calls per N (default 30)")
    p.add_argument("--full-critic-users", type=ints, default=[5, 10, 50, 200, 1000, 10000],
                   help="users N of the critic-size section (default 5,10,50,200,1000,10000; empty to skip)")
    p.add_argument("--full-critic-max-time-users", type=int, default=1000,
                   help="time the full critic's forward+backward only up to this N (default 1000)")
    p.add_argument("--critic-reps", type=int, default=5, help="timed critic passes per N (default 5)")
    p.add_argument("--seed", type=int, default=0, help="training, reset and learner seed (default 0)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads(K) here and in the children (default: torch's own)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test sizes: e2e N=50 for 60 rounds (warm-up 10, batch 32, hidden 32,32, eval "
                        "every 30, 1 final episode); update N=50,200 with 3 reps and hidden 32,32; "
                        "full critic N=5,10,50")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)  # internal: one end-to-end run
    a = p.parse_args(argv)
    # MaddpgConfig overrides of the end-to-end runs and the update section (none: the defaults)
    a.e2e_cfg, a.update_hidden = {}, None
    if a.quick:
        a.e2e_users, a.e2e_rounds, a.eval_every, a.final_episodes = [50], 60, 30, 1
        a.e2e_cfg = {"warmup_rounds": 10, "batch_size": 32, "hidden": [32, 32]}
        a.update_users, a.update_reps, a.update_hidden = [50, 200], 3, [32, 32]
        a.full_critic_users, a.critic_reps = [5, 10, 50], 3
    for name in ("e2e_rounds", "eval_every", "eval_episodes", "checkpoint_every", "final_episodes",
                 "update_reps", "critic_reps", "full_critic_max_time_users"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be ≥ 1")
    if a.threads is not None and a.threads < 1:
        p.error("--threads must be ≥ 1")
    return a


def _median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


# --- 1. end-to-end training (child side) ------------------------------------------------------


def _timed(clock: dict, key: str, fn, *, skip=lambda: False, enter=None):
    """``fn`` wrapped so that its time adds to ``clock[key]`` (not when ``skip()``); ``enter``
    (a one-element list) counts nesting, so inner wrapped calls can tell where they run."""

    @functools.wraps(fn)
    def wrapper(*a, **k):
        if skip():
            return fn(*a, **k)
        if enter is not None:
            enter[0] += 1
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            clock[key] += time.perf_counter() - t0
            if enter is not None:
                enter[0] -= 1

    return wrapper


def run_child(spec: dict) -> dict:
    """One ``train`` call with the split timers installed; runs in its own process."""
    import torch

    import marlloc.algos.maddpg as maddpg
    import marlloc.evaluation as evaluation
    from marlloc.envs.edge import EdgeMarket

    if spec["threads"] is not None:
        torch.set_num_threads(spec["threads"])
    clock = dict.fromkeys(SPLIT_KEYS, 0.0)
    in_eval = [0]  # > 0 inside a rollout or the final evaluation: their env steps are not training's
    evaluating = lambda: in_eval[0] > 0  # noqa: E731
    explore = _timed(clock, "act", maddpg.Maddpg.explore)
    started: list[float] = []  # perf_counter of the first explore(): setup ends there

    def first_explore(*a, **k):
        if not started:
            started.append(time.perf_counter())
        return explore(*a, **k)

    maddpg.Maddpg.explore = first_explore
    maddpg.Maddpg.store = _timed(clock, "store", maddpg.Maddpg.store)
    maddpg.Maddpg.update = _timed(clock, "update", maddpg.Maddpg.update)
    EdgeMarket.step = _timed(clock, "env", EdgeMarket.step, skip=evaluating)
    maddpg._save_checkpoint = _timed(clock, "ckpt", maddpg._save_checkpoint)
    maddpg._write_rows = _timed(clock, "ckpt", maddpg._write_rows)
    # train() holds its own references to these (imported at the top of maddpg.py), and
    # evaluate() calls rollout() through marlloc.evaluation: wrap both names, skipping the
    # rollouts inside the final evaluation so they count once, as "final"
    rollout = _timed(clock, "eval", evaluation.rollout, skip=evaluating, enter=in_eval)
    maddpg.rollout = evaluation.rollout = rollout
    maddpg.evaluate = _timed(clock, "final", evaluation.evaluate, enter=in_eval)
    maddpg.write = _timed(clock, "final", evaluation.write)

    cfg = maddpg.MaddpgConfig(**{k: tuple(v) if k == "hidden" else v for k, v in spec["cfg"].items()})
    rounds, every = spec["rounds"], max(spec["rounds"] // 10, 1)

    def progress(r: int, row: dict) -> None:
        if r % every == 0:
            print(f"    [N={spec['users']:,}] round {r:,}/{rounds:,} {row['charts/wall_s']:.1f} s",
                  file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="marlloc-train-speed-") as out:
        t0 = time.perf_counter()
        summary = maddpg.train(cfg, {"n_users": spec["users"]}, rounds=rounds, seed=spec["seed"], out=out,
                               eval_every_rounds=spec["eval_every"], eval_episodes=spec["eval_episodes"],
                               checkpoint_every_rounds=spec["checkpoint_every"],
                               final_episodes=spec["final_episodes"], progress=progress)
        train_s = time.perf_counter() - t0
    clock["setup"] = started[0] - t0
    clock["other"] = max(train_s - sum(v for k, v in clock.items() if k != "other"), 0.0)
    pol = summary["policies"]["maddpg"]
    return {"train_s": train_s, "split_s": clock, "torch_threads": torch.get_num_threads(),
            "system_utility": pol["system_utility"]["mean"],
            "utility_vs_bound": pol["utility_vs_bound"]["mean"],
            "self_peak_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --- 1. end-to-end training (parent side) -----------------------------------------------------


def bench_e2e(n_users: int, args: argparse.Namespace) -> dict:
    spec = {"users": n_users, "rounds": args.e2e_rounds, "seed": args.seed, "cfg": args.e2e_cfg,
            "eval_every": args.eval_every, "eval_episodes": args.eval_episodes,
            "checkpoint_every": args.checkpoint_every, "final_episodes": args.final_episodes,
            "threads": args.threads}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", json.dumps(spec)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # stderr: ours (progress)
    stdout = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; tell Popen
    wall = time.perf_counter() - t0
    row = {"users": n_users, "rounds": args.e2e_rounds, "cfg": args.e2e_cfg, "wall_s": wall,
           "peak_MB": usage.ru_maxrss / 1024,
           "rusage_children_MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
           "returncode": proc.returncode, "error": None}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        row["error"] = f"child exited with status {proc.returncode} (its traceback is on stderr above)"
        return row
    child = json.loads(lines[-1])
    row.update(child)
    row["rounds_per_s"] = args.e2e_rounds / child["train_s"]
    return row


# --- 2. update cost vs N ----------------------------------------------------------------------


def bench_update(n_users: int, args: argparse.Namespace) -> dict:
    from marlloc.algos.maddpg import Maddpg, MaddpgConfig
    from marlloc.envs import make

    over = {"hidden": tuple(args.update_hidden)} if args.update_hidden else {}
    cfg = MaddpgConfig(warmup_rounds=0, **over)
    env = make(ENV_ID, n_users=n_users, episode_rounds=UPDATE_HORIZON)
    learner = Maddpg(env, cfg, seed=args.seed)
    step = env.reset(n_envs=1, seed=args.seed)
    collect, active = [], []
    short = lambda: min(learner.replay_u.n, learner.replay_p.n) < cfg.batch_size  # noqa: E731
    while short() or len(collect) < MIN_COLLECT:
        if len(collect) >= MAX_COLLECT:
            raise RuntimeError(f"replay buffers still short of a batch after {MAX_COLLECT} rounds "
                               f"(users {learner.replay_u.n}, providers {learner.replay_p.n})")
        t0 = time.perf_counter()  # one training round's collection, as in train()
        actions = learner.explore(step)
        nxt = env.step(actions, check=False)
        learner.store(step, actions, nxt)
        collect.append(time.perf_counter() - t0)
        active.append(int(step.active["user"].sum()))
        learner.rounds += 1
        step = nxt
    learner.update()  # untimed: Adam allocates its state on the first step
    upd = []
    for _ in range(args.update_reps):
        t0 = time.perf_counter()
        learner.update()
        upd.append(time.perf_counter() - t0)
    return {"users": n_users, "hidden": list(cfg.hidden), "batch_size": cfg.batch_size,
            "collect_rounds": len(collect), "median_active_users": statistics.median(active),
            "replay_user": learner.replay_u.n, "replay_provider": learner.replay_p.n,
            "median_collect_ms": _median_ms(collect), "median_update_ms": _median_ms(upd),
            "min_update_ms": min(upd) * 1e3, "max_update_ms": max(upd) * 1e3, "error": None}


# --- 3. full vs pooled critic -----------------------------------------------------------------


def mlp_params(n_in: int, hidden: tuple[int, ...], n_out: int = 1) -> int:
    """Parameters of ``marlloc.algos.maddpg.mlp(n_in, hidden, n_out)`` (weights and biases)."""
    total, width = 0, n_in
    for h in (*hidden, n_out):
        total += width * h + h
        width = h
    return total


def _time_critic(n_in: int, dims: dict, hidden: tuple[int, ...], reps: int) -> tuple[float, int]:
    """Median ms of a forward + backward pass of a batch through ``Critic(n_in, hidden)``, and
    the module's parameter count."""
    import torch

    from marlloc.algos.maddpg import Critic

    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        critic = Critic(n_in, hidden)
    n_act = dims["M"] + 2
    obs = torch.randn(CRITIC_BATCH, dims["user_obs"], generator=g)
    act = torch.rand(CRITIC_BATCH, n_act, generator=g)
    ctx = torch.randn(CRITIC_BATCH, n_in - dims["user_obs"] - n_act, generator=g)
    times = []
    for i in range(reps + 1):  # the first pass is warm-up
        t0 = time.perf_counter()
        critic.zero_grad(set_to_none=True)
        critic(obs, act, ctx).square().mean().backward()
        if i:
            times.append(time.perf_counter() - t0)
    return _median_ms(times), sum(p.numel() for p in critic.parameters())


def bench_critics(users: list[int], args: argparse.Namespace) -> list[dict]:
    from marlloc.algos.maddpg import MaddpgConfig
    from marlloc.envs import make

    env = make(ENV_ID, n_users=5)  # role widths and the state do not depend on N
    M, du, dp = env.n_nodes, env.roles["user"].obs_dim, env.roles["provider"].obs_dim
    dims = {"M": M, "user_obs": du, "provider_obs": dp, "state_dim": env.state_dim}
    cfg = MaddpgConfig()
    hidden, gb = cfg.hidden, 4 / 2**30
    pooled_in = du + (M + 2) + env.state_dim + 2 * (M + 1)
    pooled_params = mlp_params(pooled_in, hidden)
    pooled_ms, built = _time_critic(pooled_in, dims, hidden, args.critic_reps)
    assert built == pooled_params, (built, pooled_params)
    rows = []
    for n in users:
        joint = n * (du + M + 2) + M * (dp + 3)  # every agent's observation and action
        full_in = du + (M + 2) + joint
        params_u, params_p = mlp_params(full_in, hidden), mlp_params(dp + 3 + joint, hidden)
        # Maddpg's Replay rows: users (obs, node, bid, reward, ctx); providers (obs, price, reward,
        # ctx, next_obs, next_ctx, done)
        replay_gb = cfg.replay_size * ((du + 3 + joint) + (2 * dp + 5 + 2 * joint)) * gb
        critics_gb = (4 * params_u + 5 * params_p) * gb  # weights, gradients, Adam ×2 (+ provider target)
        # what timing one pass needs: weights, gradients, the batch, activations (forward + backward)
        pass_gb = (2 * params_u + CRITIC_BATCH * (full_in + 2 * sum(hidden))) * gb
        row = {"users": n, "full_in": full_in, "full_params": params_u,
               "full_weights_adam_MB": 3 * params_u * 4 / 2**20, "full_replay_GB": replay_gb,
               "full_train_GB": replay_gb + critics_gb, "full_pass_GB": pass_gb,
               "full_fwd_bwd_ms": None, "full_note": "",
               "pooled_in": pooled_in, "pooled_params": pooled_params,
               "pooled_weights_adam_MB": 3 * pooled_params * 4 / 2**20, "pooled_fwd_bwd_ms": pooled_ms,
               "params_ratio": params_u / pooled_params, "ms_ratio": None}
        if n > args.full_critic_max_time_users:
            row["full_note"] = f"not timed (N > {args.full_critic_max_time_users:,})"
        elif pass_gb > MEMORY_LIMIT_GB:
            row["full_note"] = f"would need {pass_gb:,.1f} GB"
        else:
            ms, built = _time_critic(full_in, dims, hidden, args.critic_reps)
            assert built == params_u, (built, params_u)
            row["full_fwd_bwd_ms"], row["ms_ratio"] = ms, ms / pooled_ms
        rows.append(row)
        timed = "n/a" if row["full_fwd_bwd_ms"] is None else f"{row['full_fwd_bwd_ms']:.2f} ms"
        print(f"  critic N={n:>7,}: full input {full_in:,}, {params_u:,} parameters, fwd+bwd {timed}",
              file=sys.stderr, flush=True)
    return rows


# --- report -----------------------------------------------------------------------------------


def _f(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def print_e2e(rows: list[dict], args: argparse.Namespace) -> None:
    over = args.e2e_cfg.items()
    cfg = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v}" for k, v in over) or "defaults"
    print(f"\n1. End-to-end training: {args.e2e_rounds:,} rounds, MaddpgConfig({cfg}); eval every "
          f"{args.eval_every} rounds x {args.eval_episodes} episodes, "
          f"checkpoint every {args.checkpoint_every}, "
          f"final {args.final_episodes} episodes")
    head = ("users", "wall s", "train s", "rounds/s", "peak MB", *(f"{k} s" for k in SPLIT_KEYS),
            "utility", "vs bound")
    body = []
    for r in rows:
        if r["error"]:
            body.append((f"{r['users']:,}", f"{r['wall_s']:.1f}", "FAILED", *([""] * (len(head) - 3))))
            continue
        body.append((f"{r['users']:,}", f"{r['wall_s']:.1f}", f"{r['train_s']:.1f}",
                     f"{r['rounds_per_s']:.2f}",
                     f"{r['peak_MB']:,.0f}", *(f"{r['split_s'][k]:.1f}" for k in SPLIT_KEYS),
                     _f(r["system_utility"], ".4f"), _f(r["utility_vs_bound"], ".4f")))
    table(head, body)
    for r in rows:
        if r["error"]:
            print(f"  N={r['users']:,}: {r['error']}")
        else:
            share = ", ".join(f"{k} {r['split_s'][k] / r['train_s']:.0%}" for k in SPLIT_KEYS)
            print(f"  N={r['users']:,} split of train s: {share}")


def print_update(rows: list[dict]) -> None:
    ok = [r for r in rows if not r["error"]]
    print("\n2. Update cost vs N (median ms; ratios to the smallest N; batch of agent-transitions per role)")
    head = ("users", "hidden", "collect rounds", "active", "collect ms", "x collect", "update ms", "min ms",
            "max ms", "x update")
    base = min(ok, key=lambda r: r["users"]) if ok else None
    body = []
    for r in rows:
        if r["error"]:
            body.append((f"{r['users']:,}", "FAILED", *([""] * (len(head) - 2))))
            continue
        body.append((f"{r['users']:,}", ",".join(map(str, r["hidden"])), str(r["collect_rounds"]),
                     f"{r['median_active_users']:,.0f}", f"{r['median_collect_ms']:.2f}",
                     f"{r['median_collect_ms'] / base['median_collect_ms']:.2f}",
                     f"{r['median_update_ms']:.2f}",
                     f"{r['min_update_ms']:.2f}", f"{r['max_update_ms']:.2f}",
                     f"{r['median_update_ms'] / base['median_update_ms']:.2f}"))
    table(head, body)
    for r in rows:
        if r["error"]:
            print(f"  N={r['users']:,}: {r['error']}")


def print_critics(rows: list[dict]) -> None:
    print(f"\n3. Full-concatenation vs pooled user critic (hidden 256,256,256; fwd+bwd of a batch of "
          f"{CRITIC_BATCH}, median ms)")
    head = ("users", "full in", "full params", "w+Adam MB", "replay GB", "train GB", "full ms",
            "pooled in", "pooled params", "pooled ms", "x params", "x ms")
    table(head, [(f"{r['users']:,}", f"{r['full_in']:,}", f"{r['full_params']:,}",
                   f"{r['full_weights_adam_MB']:,.1f}", f"{r['full_replay_GB']:,.1f}",
                   f"{r['full_train_GB']:,.1f}",
                   _f(r["full_fwd_bwd_ms"]) if r["full_fwd_bwd_ms"] is not None else r["full_note"],
                   f"{r['pooled_in']:,}", f"{r['pooled_params']:,}", f"{r['pooled_fwd_bwd_ms']:.2f}",
                   f"{r['params_ratio']:,.1f}", _f(r["ms_ratio"], ".1f")) for r in rows])
    print("  w+Adam = parameters x 4 bytes x 3; replay = both roles' buffers at replay_size with the joint "
          "context; train = replay + both critics (weights, gradients, Adam, provider target)")
    for r in rows:
        if r["full_train_GB"] > MEMORY_LIMIT_GB:
            print(f"  N={r['users']:,}: training with the full critic would need "
                  f"{r['full_train_GB']:,.1f} GB "
                  f"(replay {r['full_replay_GB']:,.1f} GB); the pooled critic's buffers do not depend on N")


def targets(e2e: list[dict], update: list[dict]) -> dict:
    out: dict = {"wall_200_s": None, "wall_200_pass": None, "peak_memory_MB": None, "peak_memory_pass": None,
                 "users_10000_ran": None, "update_ratio": None, "update_flat_pass": None}
    t = next((r for r in e2e if r["users"] == TARGET_USERS and r["rounds"] == TARGET_ROUNDS), None)
    if t is not None:
        out["wall_200_s"] = None if t["error"] else t["wall_s"]
        out["wall_200_pass"] = bool(not t["error"] and t["wall_s"] <= TARGET_WALL_S)
    long_runs = [r for r in e2e if r["rounds"] >= TARGET_ROUNDS]
    if long_runs:
        out["peak_memory_MB"] = max(r["peak_MB"] for r in long_runs)
        out["peak_memory_pass"] = bool(all(not r["error"] for r in long_runs)
                                       and out["peak_memory_MB"] <= MEMORY_LIMIT_GB * 1024)
    big = next((r for r in update if r["users"] == TARGET_BIG_USERS), None)
    if big is not None:
        out["users_10000_ran"] = not big["error"]
    ok = [r["median_update_ms"] for r in update if not r["error"]]
    if len(ok) >= 2:
        out["update_ratio"] = max(ok) / min(ok)
        out["update_flat_pass"] = bool(out["update_ratio"] <= TARGET_FLAT_RATIO and len(ok) == len(update))
    return out


def print_targets(t: dict, update: list[dict]) -> None:
    print("\nTargets")
    detail = "" if t["wall_200_s"] is None else f"wall {t['wall_200_s']:.1f} s"
    print(f"  {TARGET_ROUNDS:,} rounds at {TARGET_USERS} users in ≤ {TARGET_WALL_S / 60:.0f} minutes on "
          f"{os.cpu_count()} cores: {verdict(t['wall_200_pass'])}  {detail}")
    detail = "" if t["peak_memory_MB"] is None else f"largest peak {t['peak_memory_MB']:,.0f} MB"
    print(f"  peak memory ≤ {MEMORY_LIMIT_GB:g} GB (runs of ≥ {TARGET_ROUNDS:,} rounds): "
          f"{verdict(t['peak_memory_pass'])}  {detail}")
    print(f"  {TARGET_BIG_USERS:,} users train (collection and updates ran): "
          f"{verdict(t['users_10000_ran'])}")
    detail = ""
    if t["update_ratio"] is not None:
        ns = ", ".join(f"{r['users']:,}" for r in update if not r["error"])
        detail = f"max/min median update {t['update_ratio']:.2f} over N = {ns}"
    print(f"  update cost flat in N (ratio ≤ {TARGET_FLAT_RATIO}): "
          f"{verdict(t['update_flat_pass'])}  {detail}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._child is not None:
        print(json.dumps(clean(run_child(json.loads(args._child)))))
        return 0
    wall0 = time.perf_counter()
    print(f"marlloc {ENV_ID} MADDPG training speed | python {platform.python_version()} | "
          f"os.cpu_count() {os.cpu_count()} | {platform.machine()} | seed {args.seed}"
          f"{'' if args.threads is None else f' | torch threads {args.threads}'}", flush=True)

    # 1. first, while this process is small (a child's ru_maxrss starts at its parent's peak)
    e2e = []
    parent_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for n in args.e2e_users:
        print(f"  e2e N={n:,}: training {args.e2e_rounds:,} rounds in a fresh process ...",
              file=sys.stderr, flush=True)
        r = bench_e2e(n, args)
        e2e.append(r)
        took = "FAILED" if r["error"] else f"{r['wall_s']:.1f} s"
        print(f"  e2e N={n:,}: {took}, peak {r['peak_MB']:,.0f} MB", file=sys.stderr, flush=True)

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__} | torch threads {torch.get_num_threads()} | parent peak RSS while "
          f"launching the training runs {parent_MB:,.0f} MB (the floor of their peaks)")

    update = []
    for n in args.update_users:
        try:
            r = bench_update(n, args)
        except Exception as e:  # recorded: "10,000 users train" is a target, a failure is a MISS
            r = {"users": n, "error": f"{type(e).__name__}: {e}"}
        update.append(r)
        msg = r["error"] or f"update {r['median_update_ms']:.2f} ms, collect {r['median_collect_ms']:.2f} ms"
        print(f"  update N={n:>7,}: {msg}", file=sys.stderr, flush=True)
    critics = bench_critics(args.full_critic_users, args) if args.full_critic_users else []

    if e2e:
        print_e2e(e2e, args)
    if update:
        print_update(update)
    if critics:
        print_critics(critics)
    t = targets(e2e, update)
    print_targets(t, update)
    wall = time.perf_counter() - wall0
    print(f"\nwall time {wall:.1f} s")
    if args.json:
        out = {
            "e2e": e2e, "update": update, "full_critic": critics, "targets": t,
            "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "torch_version": torch.__version__, "python": platform.python_version(),
                        "parent_peak_MB_at_launch": parent_MB},
            "settings": {"e2e_rounds": args.e2e_rounds, "e2e_cfg": args.e2e_cfg,
                         "eval_every": args.eval_every,
                         "eval_episodes": args.eval_episodes, "checkpoint_every": args.checkpoint_every,
                         "final_episodes": args.final_episodes, "update_reps": args.update_reps,
                         "update_hidden": args.update_hidden, "critic_reps": args.critic_reps,
                         "full_critic_max_time_users": args.full_critic_max_time_users, "seed": args.seed,
                         "quick": args.quick},
            "wall_s": wall,
        }
        print(json.dumps(clean(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
