"""The edge market of seed 000 (``edge_market_v0``)."""

from marlloc.envs.edge.config import (
    DEFAULT_TASKS,
    EVENT_KINDS,
    PAPER_ROBUSTNESS_EVENTS,
    BandwidthFluctuation,
    Burst,
    EdgeMarketConfig,
    NodeFailure,
    TaskType,
)
from marlloc.envs.edge.market import EdgeMarket

__all__ = [
    "DEFAULT_TASKS",
    "EVENT_KINDS",
    "PAPER_ROBUSTNESS_EVENTS",
    "BandwidthFluctuation",
    "Burst",
    "EdgeMarket",
    "EdgeMarketConfig",
    "NodeFailure",
    "TaskType",
]
