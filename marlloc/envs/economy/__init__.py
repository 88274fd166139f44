"""The economy of seed 004 (``economy_v0``): firms, consumer groups and governments on World Bank data."""

from marlloc.envs.economy.config import EconomyConfig
from marlloc.envs.economy.economy import Economy

__all__ = ["Economy", "EconomyConfig"]
