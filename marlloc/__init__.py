"""marlloc: heterogeneous resource allocation with game-theoretic multi-agent reinforcement learning.

Public surface (kept true by ``tests/test_public_api.py``):

- ``make(env_id, **config)``: a batched environment; ``make_parallel``: its PettingZoo face.
- ``ENVS``: the registry of environment ids.
- ``evaluate(policies, env_id, config, episodes, seeds)``: every policy on the same seeds, with
  per-episode metrics, aggregates (mean, std, 95 % CI) and the fraction of the LP upper bound.
- ``MarkovGame``, ``RoleSpec``, ``Step``: the batched Markov-game protocol.
- ``MarllocError``, ``ConfigError``, ``DataError``, ``ActionError``: what marlloc raises on purpose.
"""

from marlloc.core.errors import ConfigError, DataError, MarllocError
from marlloc.core.protocol import ActionError, MarkovGame, RoleSpec, Step
from marlloc.envs import ENVS, make, make_parallel
from marlloc.evaluation import evaluate

__version__ = "0.1.0"

__all__ = [
    "ENVS",
    "ActionError",
    "ConfigError",
    "DataError",
    "MarkovGame",
    "MarllocError",
    "RoleSpec",
    "Step",
    "__version__",
    "evaluate",
    "make",
    "make_parallel",
]
