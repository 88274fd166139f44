"""The seeds' experiments as typed, declarative specs (``../shared/design/experiments.md``).

A spec is a frozen dataclass whose fields are the protocol (users, training rounds, methods,
episodes, ...); ``spec.quick()`` is its CI-sized variant and ``spec.runs(seeds)`` the list of
:class:`Run` it needs. A run is one unit of work with its own folder (``DIR/runs/<id>``): either
the training of one learner on one seed, or the evaluation of one method on one seed (a learned
method plays the checkpoint of its training run). Run ids carry a hash of everything that
defines the run, so two specs that need the same training share it when they write into the
same ``DIR``, and a changed spec never reuses a stale run.

Seeds: run seed s trains with seed s and evaluates on evaluation seed ``10_000 + s``, the same
for every method, so methods are compared on the same arrivals, events and countries (paired).

What each spec measures and how it is aggregated is in :mod:`marlloc.experiments.tables`; the
papers' own numbers are in :data:`PAPER` and are only ever printed in their own column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

from marlloc.core.config import check, check_fields

EVAL_SEED = 10_000  # + the run seed: evaluation episodes never meet a training episode's seed


@dataclass(frozen=True)
class Method:
    """How a method name becomes work: a learner to train (``algo``) or a fixed policy."""

    scenario: str           # "edge" | "economy"
    algo: str | None = None  # learner trained per seed (maddpg, eqmarl, sarl); None = a baseline policy
    policy: str | None = None  # baseline policy name for the evaluation harness
    hp: dict = field(default_factory=dict)   # learner hyper-parameter overrides
    env: dict = field(default_factory=dict)  # environment overrides the method needs (an ablation's switch)
    label: str = ""          # how tables name it


METHODS: dict[str, Method] = {
    # seed 000: the proposed MADDPG against random and greedy, plus our centralised references
    "maddpg": Method("edge", algo="maddpg", label="MADDPG (proposed)"),
    "greedy": Method("edge", policy="greedy", label="greedy"),
    "random": Method("edge", policy="random", label="random"),
    "sequential_greedy": Method("edge", policy="sequential_greedy", label="sequential greedy (centralised)"),
    "optimum": Method("edge", policy="optimum", label="per-round MILP optimum (centralised)"),
    # seed 004: equilibrium-based MARL, its ablations and the game-theory / LP baselines
    "eqmarl": Method("economy", algo="eqmarl", label="equilibrium MARL (proposed)"),
    "sarl": Method("economy", algo="sarl", label="single-agent RL (no MARL)"),
    "eqmarl-no-solver": Method("economy", algo="eqmarl", hp={"eq_weight": 0.0}, label="without game theory"),
    "eqmarl-no-fe": Method("economy", algo="eqmarl", env={"engineer": False}, label="without feature engineering"),
    "ncgt": Method("economy", policy="ncgt", label="non-cooperative GT"),
    "lp": Method("economy", policy="lp", label="centralised LP"),
    "econ-random": Method("economy", policy="random", label="random"),
}


def pareto_method(gini_max: float) -> Method:
    return Method("economy", policy=f"pareto:{gini_max:g}", label=f"Pareto LP (Gini ≤ {gini_max:g})")


def method(name: str) -> Method:
    if name.startswith("pareto:"):
        return pareto_method(float(name.partition(":")[2]))
    check(name in METHODS, "method", f"be one of {', '.join(METHODS)} or pareto:G", name, "pick a listed method")
    return METHODS[name]


@dataclass(frozen=True)
class Run:
    """One unit of work and its folder ``DIR/runs/<id>``."""

    kind: str                   # "train" | "evaluate"
    scenario: str               # "edge" | "economy"
    method: str                 # a METHODS key (or pareto:G)
    seed: int
    env: dict                   # environment config overrides
    steps: int = 0              # training rounds (edge) or steps (economy); train runs only
    hp: dict = field(default_factory=dict)
    train: str | None = None    # id of the train run whose checkpoint this evaluation plays
    episodes: int = 5           # evaluation episodes (side by side, one batch)
    nash_every: int = 0         # stage-game NashConv search period; 0 = off
    bound: bool = False         # per-round LP upper bound (edge)
    timeline: bool = False      # keep the per-round series (robustness)
    eval_every: int = 100       # training: evaluate every this many rounds/steps (curves)
    group: dict = field(default_factory=dict)  # labels the tables group by, e.g. {"users": 200}

    @property
    def id(self) -> str:
        body = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        tag = "-".join(f"{k}{v}" for k, v in sorted(self.group.items()))
        name = self.method.replace(":", "")
        return f"{self.kind}-{name}{'-' + tag if tag else ''}-s{self.seed}-{hashlib.sha1(body.encode()).hexdigest()[:8]}"

    @property
    def needs(self) -> tuple[str, ...]:
        return (self.train,) if self.train else ()

    def to_dict(self) -> dict:
        return {"id": self.id, **dataclasses.asdict(self)}


def _seeds(seeds: int) -> range:
    check(isinstance(seeds, int) and seeds >= 1, "--seeds", "be an integer ≥ 1", seeds, "try --seeds 5")
    return range(seeds)


def _train_and_eval(methods, seeds: int, env: dict, train_steps: int, episodes: int, nash_every: int,
                    bound: bool, group: dict, eval_every: int, eval_env: dict | None = None,
                    timeline: bool = False) -> list[Run]:
    """For every method and seed: its training run (learners) and its evaluation run."""
    runs = []
    for name in methods:
        m = method(name)
        for s in _seeds(seeds):
            train = None
            if m.algo:
                train = Run("train", m.scenario, name, s, {**env, **m.env}, steps=train_steps, hp=m.hp,
                            eval_every=eval_every, episodes=episodes, group=group)
                runs.append(train)
            runs.append(Run("evaluate", m.scenario, name, s, {**env, **(eval_env or {}), **m.env},
                            train=train.id if train else None, episodes=episodes, nash_every=nash_every,
                            bound=bound, timeline=timeline, group=group))
    return runs


# --- seed 000: the edge market ------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeTable1:
    """Steady-state comparison (seed 000 Table 1): every method at one scale."""

    users: int = 200
    """User agents N."""
    train_rounds: int = 5_000
    """MADDPG training rounds per seed (seed 000 §4.1: 5,000)."""
    episode_rounds: int = 200
    """Rounds per episode, in training and evaluation."""
    episodes: int = 5
    """Evaluation episodes per seed."""
    methods: tuple[str, ...] = ("maddpg", "greedy", "random", "sequential_greedy", "optimum")
    """Methods compared; the first is the proposed one."""
    nash_every: int = 25
    """Rounds between stage-game NashConv / ε searches in evaluation (0 = off)."""
    eval_every_rounds: int = 100
    """Training: evaluate every this many rounds (the convergence curve)."""
    env_extra: dict = field(default_factory=dict)
    """Further edge-market overrides for every run (e.g. {"sites_csv": "…/site-optus-melbCBD.csv"});
    default: the embedded scenario."""

    name = "edge-table1"
    paper = "000"
    scenario = "edge"

    def __post_init__(self):
        _check_common(self)

    def env(self) -> dict:
        return {"n_users": self.users, "episode_rounds": self.episode_rounds, **self.env_extra}

    def runs(self, seeds: int) -> list[Run]:
        return _train_and_eval(self.methods, seeds, self.env(), self.train_rounds, self.episodes, self.nash_every,
                               True, {"users": self.users}, self.eval_every_rounds)

    def quick(self) -> EdgeTable1:
        return dataclasses.replace(self, users=12, train_rounds=60, episode_rounds=20, episodes=2, nash_every=5,
                                   eval_every_rounds=20)


@dataclass(frozen=True)
class EdgeConvergence(EdgeTable1):
    """Training curves at 200 users (seed 000 Fig. 2): utility, QoE and utilisation against rounds."""

    methods: tuple[str, ...] = ("maddpg", "greedy", "random")
    """Methods: MADDPG's curve, with the baselines' evaluation as flat references."""
    nash_every: int = 0
    """No NashConv search: the curves are the point here."""

    name = "edge-convergence"


@dataclass(frozen=True)
class EdgeScalability:
    """Users 50 → 500 (seed 000 Fig. 3): every method at every scale."""

    users: tuple[int, ...] = tuple(range(50, 501, 50))
    """Scales, in user agents."""
    train_rounds: int = 1_000
    """MADDPG training rounds per scale and seed (seed 000: 1,000 per scale)."""
    episode_rounds: int = 200
    """Rounds per episode."""
    episodes: int = 5
    """Evaluation episodes per seed."""
    methods: tuple[str, ...] = ("maddpg", "greedy", "random", "optimum")
    """Methods compared; the first is the proposed one."""
    nash_every: int = 0
    """Stage-game NashConv search period in evaluation (0 = off: it costs most at large scales)."""
    eval_every_rounds: int = 100
    """Training: evaluate every this many rounds."""
    env_extra: dict = field(default_factory=dict)
    """Further edge-market overrides for every run (e.g. {"sites_csv": "…/site-optus-melbCBD.csv"});
    default: the embedded scenario."""

    name = "edge-scalability"
    paper = "000"
    scenario = "edge"

    def __post_init__(self):
        _check_common(self)
        check(all(isinstance(u, int) and u >= 1 for u in self.users), "users", "hold integers ≥ 1", self.users,
              "e.g. users=(50, 100)")

    def runs(self, seeds: int) -> list[Run]:
        return [r for u in self.users for r in _train_and_eval(
            self.methods, seeds, {"n_users": u, "episode_rounds": self.episode_rounds, **self.env_extra},
            self.train_rounds,
            self.episodes, self.nash_every, True, {"users": u}, self.eval_every_rounds)]

    def quick(self) -> EdgeScalability:
        return dataclasses.replace(self, users=(8, 16), train_rounds=40, episode_rounds=20, episodes=2,
                                   eval_every_rounds=20)


@dataclass(frozen=True)
class EdgeScaleBeyond:
    """1,000 – 10,000 users, beyond the paper: the baselines, and MADDPG trained at ``train_users``.

    MADDPG's actors see only a user's own observation, so a policy trained at 200 users runs at
    any N; training at 10,000 users is out of reach on one CPU machine (a cluster job for issue 8).
    The per-round optimum is left out: its MILP does not solve in useful time at these sizes.
    """

    users: tuple[int, ...] = (1_000, 2_000, 5_000, 10_000)
    """Scales, in user agents."""
    train_users: int = 200
    """Scale MADDPG is trained at."""
    train_rounds: int = 5_000
    """MADDPG training rounds per seed."""
    episode_rounds: int = 200
    """Rounds per episode."""
    episodes: int = 2
    """Evaluation episodes per seed (each one is a 10,000-agent market at the top scale)."""
    methods: tuple[str, ...] = ("maddpg", "greedy", "random", "sequential_greedy")
    """Methods compared."""
    nash_every: int = 0
    """Stage-game NashConv search period (0 = off)."""
    eval_every_rounds: int = 500
    """Training: evaluate every this many rounds."""
    env_extra: dict = field(default_factory=dict)
    """Further edge-market overrides for every run (e.g. {"sites_csv": "…/site-optus-melbCBD.csv"});
    default: the embedded scenario."""

    name = "edge-scale-beyond"
    paper = "000"
    scenario = "edge"

    def __post_init__(self):
        _check_common(self)

    def runs(self, seeds: int) -> list[Run]:
        runs = []
        for name in self.methods:
            m = method(name)
            for s in _seeds(seeds):
                train = None
                if m.algo:
                    train = Run("train", "edge", name, s, {"n_users": self.train_users,
                                                           "episode_rounds": self.episode_rounds, **self.env_extra},
                                steps=self.train_rounds, hp=m.hp, eval_every=self.eval_every_rounds,
                                episodes=self.episodes, group={"users": self.train_users})
                    runs.append(train)
                for u in self.users:
                    runs.append(Run("evaluate", "edge", name, s,
                                    {"n_users": u, "episode_rounds": self.episode_rounds, **self.env_extra},
                                    train=train.id if train else None, episodes=self.episodes,
                                    nash_every=self.nash_every, bound=False, group={"users": u}))
        return runs

    def quick(self) -> EdgeScaleBeyond:
        return dataclasses.replace(self, users=(30, 60), train_users=10, train_rounds=40, episode_rounds=10,
                                   episodes=1, eval_every_rounds=20)


@dataclass(frozen=True)
class EdgeRobustness:
    """Burst, node failure and bandwidth swings in one long episode (seed 000 Fig. 4)."""

    users: int = 200
    """User agents N."""
    train_rounds: int = 5_000
    """MADDPG training rounds per seed (trained without events)."""
    train_episode_rounds: int = 200
    """Rounds per training episode."""
    rounds: int = 400
    """Rounds of the evaluation episode."""
    burst_round: int = 100
    """A burst of arrivals starts here (seed 000: round 100)."""
    burst_rounds: int = 20
    """How long the burst lasts."""
    burst_factor: float = 3.0
    """Arrival probability multiplier during the burst."""
    failure_round: int = 200
    """One edge server fails here (seed 000: round 200)."""
    failure_rounds: int = 50
    """How long it stays down."""
    fluctuation_round: int = 300
    """Bandwidth starts to fluctuate here (seed 000: round 300), to the end of the episode."""
    episodes: int = 5
    """Evaluation episodes per seed."""
    methods: tuple[str, ...] = ("maddpg", "greedy", "random")
    """Methods compared; the first is the proposed one."""
    eval_every_rounds: int = 100
    """Training: evaluate every this many rounds."""
    env_extra: dict = field(default_factory=dict)
    """Further edge-market overrides for every run (e.g. {"sites_csv": "…/site-optus-melbCBD.csv"});
    default: the embedded scenario."""

    name = "edge-robustness"
    paper = "000"
    scenario = "edge"

    def __post_init__(self):
        _check_common(self)
        check(0 < self.burst_round < self.failure_round < self.fluctuation_round < self.rounds, "event rounds",
              "satisfy 0 < burst_round < failure_round < fluctuation_round < rounds",
              (self.burst_round, self.failure_round, self.fluctuation_round, self.rounds), "reorder the events")

    def events(self) -> list[dict]:
        return [{"kind": "burst", "start_round": self.burst_round, "rounds": self.burst_rounds,
                 "factor": self.burst_factor},
                {"kind": "node_failure", "start_round": self.failure_round, "rounds": self.failure_rounds,
                 "node": 1},
                {"kind": "bandwidth_fluctuation", "start_round": self.fluctuation_round}]

    def runs(self, seeds: int) -> list[Run]:
        # trained on the default episode length, without events; evaluated on the long episode with them
        env = {"n_users": self.users, "episode_rounds": self.train_episode_rounds, **self.env_extra}
        return _train_and_eval(self.methods, seeds, env,
                               self.train_rounds, self.episodes, 0,
                               False, {"users": self.users}, self.eval_every_rounds,
                               eval_env={"episode_rounds": self.rounds, "events": self.events()}, timeline=True)

    def quick(self) -> EdgeRobustness:
        return dataclasses.replace(self, users=12, train_rounds=40, train_episode_rounds=20, rounds=40, burst_round=8, burst_rounds=4,
                                   failure_round=18, failure_rounds=8, fluctuation_round=30, episodes=2,
                                   eval_every_rounds=20)


# --- seed 004: the economy ----------------------------------------------------------------------


@dataclass(frozen=True)
class EconComparison:
    """Proposed vs single-agent RL vs non-cooperative GT vs centralised LP (seed 004 Tables 3, 5)."""

    countries: int = 10
    """Countries per economy (10 agents each: 100 agents at the default)."""
    train_steps: int = 1_500
    """Training steps per learner and seed (measured on this machine: about 3.5 minutes for eqmarl)."""
    episodes: int = 4
    """Evaluation episodes per seed."""
    methods: tuple[str, ...] = ("eqmarl", "sarl", "ncgt", "lp", "econ-random")
    """Methods compared; the first is the proposed one."""
    nash_every: int = 25
    """Steps between stage-game NashConv / ε searches in evaluation."""
    eval_every_steps: int = 20
    """Training: Δπ convergence check and evaluation period."""
    env_extra: dict = field(default_factory=dict)
    """Further economy overrides (e.g. {"wdi": "path/to/wdi.csv"}); default: the synthetic panel."""

    name = "econ-comparison"
    paper = "004"
    scenario = "economy"

    def __post_init__(self):
        _check_common(self)

    def env(self) -> dict:
        return {"n_countries": self.countries, **self.env_extra}

    def runs(self, seeds: int) -> list[Run]:
        return _train_and_eval(self.methods, seeds, self.env(), self.train_steps, self.episodes, self.nash_every,
                               False, {}, self.eval_every_steps)

    def quick(self) -> EconComparison:
        return dataclasses.replace(self, countries=2, train_steps=12, episodes=1, nash_every=4, eval_every_steps=4,
                                   env_extra={"episode_steps": 8, "n_firms": 2, "n_households": 2, **self.env_extra})


@dataclass(frozen=True)
class EconSummary(EconComparison):
    """The proposed method alone over the seeds (seed 004 Table 4)."""

    methods: tuple[str, ...] = ("eqmarl",)
    """Only the proposed method."""

    name = "econ-summary"


@dataclass(frozen=True)
class EconAblation(EconComparison):
    """Full method vs without game theory / MARL / feature engineering (seed 004 Tables 2, 6)."""

    methods: tuple[str, ...] = ("eqmarl", "eqmarl-no-solver", "sarl", "eqmarl-no-fe")
    """The full method and its three ablations."""

    name = "econ-ablation"


@dataclass(frozen=True)
class EconPareto(EconComparison):
    """The Gini-constrained LP frontier with the learned point (seed 004 §5.6)."""

    gini_bounds: tuple[float, ...] = (0.30, 0.32, 0.34, 0.36, 0.38, 0.40)
    """Gini bounds swept by the Pareto LP."""
    methods: tuple[str, ...] = ("eqmarl", "lp")
    """Learned and unconstrained references; the Pareto LPs are added per bound."""

    name = "econ-pareto"

    def runs(self, seeds: int) -> list[Run]:
        names = (*self.methods, *(f"pareto:{g:g}" for g in self.gini_bounds))
        return _train_and_eval(names, seeds, self.env(), self.train_steps, self.episodes, self.nash_every,
                               False, {}, self.eval_every_steps)

    def quick(self) -> EconPareto:
        return dataclasses.replace(super().quick(), gini_bounds=(0.3, 0.4))


@dataclass(frozen=True)
class EconGrid(EconComparison):
    """Seed 004 §3.3's hyper-parameter grid for eqmarl (3·3·3·2·3·3 = 486 configurations).

    Every configuration trains on every seed and is evaluated without NashConv; the table ranks
    configurations per metric. At full size this is a cluster job (issue 8's Ray backend).
    """

    grid: dict = field(default_factory=lambda: {
        "lr": [1e-4, 1e-3, 1e-2], "gamma": [0.9, 0.95, 0.99], "batch_size": [32, 64, 128],
        "replay_size": [50_000, 100_000], "solver_iters": [20, 50, 100], "converge_eps": [1e-2, 1e-3, 1e-4]})
    """Hyper-parameter → values (eqmarl config field names)."""
    methods: tuple[str, ...] = ("eqmarl",)
    """The learner whose grid is searched."""
    nash_every: int = 0
    """No NashConv search per configuration."""

    name = "econ-grid"

    def configs(self) -> list[dict]:
        import itertools

        keys = sorted(self.grid)
        return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(self.grid[k] for k in keys))]

    def runs(self, seeds: int) -> list[Run]:
        runs = []
        for i, hp in enumerate(self.configs()):
            for s in _seeds(seeds):
                train = Run("train", "economy", "eqmarl", s, self.env(), steps=self.train_steps, hp=hp,
                            eval_every=self.eval_every_steps, episodes=self.episodes, group={"config": i})
                runs += [train, Run("evaluate", "economy", "eqmarl", s, self.env(), train=train.id,
                                    episodes=self.episodes, group={"config": i})]
        return runs

    def quick(self) -> EconGrid:
        return dataclasses.replace(super().quick(), grid={"lr": [1e-3, 1e-2], "gamma": [0.99]})


def _check_common(spec) -> None:
    for f in dataclasses.fields(spec):
        v = getattr(spec, f.name)
        if f.name in ("train_rounds", "train_steps", "episode_rounds", "episodes", "rounds", "countries",
                      "eval_every_rounds", "eval_every_steps", "train_users", "train_episode_rounds") or (f.name == "users" and isinstance(v, int)):
            check(isinstance(v, int) and v >= 1, f.name, "be an integer ≥ 1", v, f"try {f.name}={f.default}")
    nash = getattr(spec, "nash_every", 0)
    check(isinstance(nash, int) and nash >= 0, "nash_every", "be an integer ≥ 0", nash, "try nash_every=25 (0 = off)")
    for m in spec.methods:
        method(m)


SPECS: dict[str, type] = {cls.name: cls for cls in (
    EdgeConvergence, EdgeScalability, EdgeRobustness, EdgeTable1, EconComparison, EconSummary, EconAblation,
    EconPareto, EconGrid, EdgeScaleBeyond)}


def _fields(spec) -> dict:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}


def from_entry(name: str, entry: dict):
    """The spec of an ``experiment.json`` entry (JSON turned tuples into lists; ``grid`` stays a dict of lists)."""
    fields = {k: tuple(v) if isinstance(v, list) and k != "grid" else v for k, v in entry["spec"].items()}
    return SPECS[name](**fields)


def get(name: str, quick: bool = False, env: dict | None = None, fields: dict | None = None):
    """The spec called ``name`` (its quick variant when ``quick``), with ``fields`` replacing its
    fields (a sweep file's ``spec:``) and ``env`` added to its ``env_extra``: environment overrides
    for every run (e.g. the World Bank panel for the economy).

    The overrides are checked here, before anything runs, so a typo fails once instead of in
    every run.
    """
    check(name in SPECS, "experiment", f"be one of {', '.join(SPECS)}", name, "see marlloc reproduce --list")
    spec = SPECS[name]()
    spec = spec.quick() if quick else spec
    if fields:
        check_fields(SPECS[name], fields, f"{name} spec")
        for k, v in fields.items():  # a list field given one value would be read letter by letter
            default = getattr(spec, k)
            want = (list, tuple) if isinstance(default, tuple) else dict if isinstance(default, dict) else None
            check(want is None or isinstance(v, want), f"{name} spec field {k}",
                  f"be a {'mapping' if want is dict else 'list'}", v, f"e.g. {k}: {json.dumps(default, default=list)}")
        spec = from_entry(name, {"spec": {**json.loads(json.dumps(_fields(spec), default=list)), **fields}})
    if env:
        spec = dataclasses.replace(spec, env_extra={**spec.env_extra, **env})
        _check_env(spec)
    return spec


SWEEP_KEYS = {
    "experiment": "the experiment swept (see marlloc reproduce --list); required",
    "quick": "start from its --quick variant (default false)",
    "seeds": "seeds per configuration (default 5; --seeds overrides)",
    "out": "output folder (default runs/sweep-<file name>; --out overrides)",
    "spec": "the experiment's fields to replace, e.g. users: [50, 100] or grid: {lr: [0.001, 0.01]}",
    "env": "environment overrides for every run, as --env",
}


def load_sweep(path) -> dict:
    """A sweep file (YAML): one experiment, its fields replaced, over seeds (:data:`SWEEP_KEYS`).

    Returns ``{"experiment", "quick", "seeds", "out", "spec", "env"}`` with defaults filled; the
    spec itself is checked by :func:`get`.
    """
    from pathlib import Path

    import yaml

    from marlloc.core.errors import ConfigError

    path = Path(path)
    try:
        d = yaml.safe_load(path.read_text())
    except OSError:
        raise ConfigError(f"SPEC must be an experiment name or a readable YAML file, got {str(path)!r}; "
                          f"experiments: {', '.join(SPECS)}") from None
    except yaml.YAMLError as e:
        where = f" at line {e.problem_mark.line + 1}" if getattr(e, "problem_mark", None) else ""
        raise ConfigError(f"{path} must be valid YAML, got a parse error{where}; fix the file") from None
    check(isinstance(d, dict), str(path), "hold a mapping (experiment: NAME, spec: {...})", type(d).__name__,
          "see docs/distributed.md")
    unknown = sorted(set(d) - set(SWEEP_KEYS))
    check(not unknown, f"{path} key", f"be one of {', '.join(SWEEP_KEYS)}", unknown[0] if unknown else None,
          "remove or rename it")
    check("experiment" in d, str(path), "name the experiment swept (experiment: NAME)", None,
          "add e.g. experiment: econ-grid")
    d = {"quick": False, "seeds": 5, "out": f"runs/sweep-{path.stem}", "spec": {}, "env": {}, **d}
    check(isinstance(d["quick"], bool), f"{path} quick", "be true or false", d["quick"], "write quick: true")
    check(isinstance(d["seeds"], int) and d["seeds"] >= 1, f"{path} seeds", "be an integer ≥ 1", d["seeds"],
          "write seeds: 5")
    for key in ("spec", "env"):
        check(isinstance(d[key], dict), f"{path} {key}", "be a mapping", d[key], f"write {key}: {{field: value}}")
    return d


def _check_env(spec) -> None:
    from marlloc.envs.economy.economy import Economy
    from marlloc.envs.edge.config import EdgeMarketConfig

    for env in {json.dumps(r.env, sort_keys=True): r.env for r in spec.runs(1)}.values():
        if spec.scenario == "edge":
            EdgeMarketConfig.from_dict(env)
        else:  # building the economy loads its panel: a data file missing an indicator fails here
            Economy(**env)


# The seeds' reported numbers (experiments.md). They come from the papers' own simulators and are
# printed only in the column "reported by the paper (different simulator)".
PAPER: dict[str, dict] = {
    "edge-table1": {
        "system_utility": {"maddpg": "0.85 ± 0.03", "greedy": "0.62 ± 0.05", "random": "0.45 ± 0.07"},
        "avg_qoe_norm": {"maddpg": "0.78", "greedy": "0.55", "random": "0.38"},
        "utilisation": {"maddpg": "76.3 %", "greedy": "68.5 %", "random": "52.7 %"},
        "jain": {"maddpg": "0.89", "greedy": "0.72", "random": "0.61"},
        "improvement": {"system_utility": "+37.1 % vs greedy", "avg_qoe_norm": "+41.8 % vs greedy"},
    },
    "edge-convergence": {"claim": "converges after ≈ 3,000 rounds; utilisation settles at 75–80 %"},
    "edge-scalability": {"claim": "near-linear growth to 300 users, slower after; proposed beats random and "
                                  "greedy at every scale, most at 400–500"},
    "edge-robustness": {"claim": "dip then recovery in ≈ 15 rounds after the burst; failure impact within 20 %"},
    "edge-scale-beyond": {"claim": "not in the paper (its largest scale is 500 users)"},
    "econ-comparison": {
        "utility": {"eqmarl": "92.5 (Table 3: 0.95)", "sarl": "78.3 (0.80)", "ncgt": "85.1 (0.85)",
                    "lp": "88.7 (0.90)"},
        "gini": {"eqmarl": "0.15 (0.12)", "sarl": "0.30 (0.20)", "ncgt": "0.25 (0.15)", "lp": "0.20 (0.10)"},
        "convergence_step": {"eqmarl": "750", "sarl": "950", "ncgt": "820", "lp": "680"},
        "train_wall_s": {"eqmarl": "120 s (A100)", "sarl": "180 s", "ncgt": "160 s", "lp": "140 s"},
    },
    "econ-summary": {
        "utility": {"eqmarl": "92.5 ± 3.2"}, "convergence_step": {"eqmarl": "750 ± 25"},
        "gini": {"eqmarl": "0.15 ± 0.02"}, "policy_stability": {"eqmarl": "0.01 ± 0.005"},
    },
    "econ-ablation": {
        "utility": {"eqmarl": "0.95", "eqmarl-no-solver": "0.82 (Table 6: 81.5 ± 3.9)", "sarl": "0.75",
                    "eqmarl-no-fe": "0.88"},
        "train_wall_s": {"eqmarl": "120 s", "eqmarl-no-solver": "150 s", "sarl": "200 s", "eqmarl-no-fe": "130 s"},
        "gini": {"eqmarl": "0.12", "eqmarl-no-solver": "0.18 (Table 6: 0.28 ± 0.04)", "sarl": "0.25",
                 "eqmarl-no-fe": "0.15"},
    },
    "econ-pareto": {"claim": "optimum utility 95.6 at Gini 0.10; the proposed method reaches 96.8 % of it"},
    "econ-grid": {"claim": "selected lr 1e-3, γ 0.99, batch 64, replay 100,000, T 50, ε 1e-3"},
}


# Unit costs on this machine (2-core Xeon @ 2.5 GHz, one torch thread), measured with
# ``python benchmarks/reproduce_costs.py``; the model is that script's docstring. Estimates only:
# the machine's load and the learners' behaviour (e.g. how many tasks MADDPG admits) move them.
UNIT_COSTS: dict = {  # measured 2026-11-22
    "maddpg_round": (0.07357, -0.05169),
    "edge_round": {"random": (0.001286, 0.4253), "greedy": (0.001188, 0.4455), "sequential_greedy": (0.0004883, 0.7908), "optimum": (3.778e-06, 1.875)},
    "edge_nash_search": (0.001744, 0.7722),
    "economy_step": {"eqmarl": 0.03675, "sarl": 0.01388, "eqmarl-no-solver": 0.01425},
    "economy_eval_step": {"econ-random": (0.002462, 0.00454), "ncgt": (0.3642, 0.3745), "lp": (0.1579, 0.1554), "pareto:0.3": (0.2811, 0.2575)},
}


def estimate_s(spec, seeds: int) -> float:
    """Estimated wall seconds of ``spec`` at ``seeds`` seeds with the local backend (every run)."""
    c = UNIT_COSTS
    if not c:
        return math.nan
    total = 0.0
    for r in {r.id: r for r in spec.runs(seeds)}.values():
        m = method(r.method)
        if r.scenario == "edge":
            users, rounds = r.env["n_users"], r.env.get("episode_rounds", 200)
            if r.kind == "train":
                a, p = c["maddpg_round"]
                total += r.steps * a * users**p
                continue
            a, p = c["edge_round"].get(m.policy or "greedy")  # a learned policy costs about what greedy does
            total += rounds * a * (users * r.episodes) ** p
            if r.nash_every:
                a, p = c["edge_nash_search"]
                total += len(range(r.nash_every // 2, rounds, r.nash_every)) * a * users**p
        else:
            steps = r.env.get("episode_steps", 100)
            if r.kind == "train":
                key = "sarl" if m.algo == "sarl" else ("eqmarl-no-solver" if m.hp.get("eq_weight") == 0 else "eqmarl")
                total += r.steps * c["economy_step"][key]
                continue
            pol = m.policy or "econ-random"
            key = "pareto:0.3" if pol.startswith("pareto") else ("econ-random" if pol == "random" else pol)
            base, nash = c["economy_eval_step"].get(key, c["economy_eval_step"]["econ-random"])
            total += steps * (nash if r.nash_every else base) * r.episodes / 4
    return total
