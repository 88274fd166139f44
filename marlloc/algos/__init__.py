"""Learners, one file each. ``ALGOS`` maps a name to its (config class, train function)."""

from marlloc.algos import maddpg

ALGOS = {"maddpg": (maddpg.MaddpgConfig, maddpg.train)}

__all__ = ["ALGOS"]
