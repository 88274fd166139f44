"""Learners, one file each.

``ALGOS`` maps an edge-market learner's name to its (config class, train function);
``ECONOMY_ALGOS`` maps an economy learner's name to its config class and the settings that make
it that learner (``sarl`` is eqmarl without mean field and without the equilibrium solver).
"""

from marlloc.algos import eqmarl, maddpg

ALGOS = {"maddpg": (maddpg.MaddpgConfig, maddpg.train)}
ECONOMY_ALGOS = {
    "eqmarl": (eqmarl.EqmarlConfig, {}),
    "sarl": (eqmarl.EqmarlConfig, {"mean_field": False, "eq_weight": 0.0}),
}

__all__ = ["ALGOS", "ECONOMY_ALGOS"]
