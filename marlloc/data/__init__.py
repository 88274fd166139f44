"""Loaders for the real data behind the simulator (read in place from ``shared/data``).

- :mod:`marlloc.data.topology`: EUA edge sites and user positions, great-circle distances,
  and sampling of an edge topology.
- :mod:`marlloc.data.traces`: numeric time series (NASA request counts, data-centre load) and
  their conversion to a mean-1 rate multiplier or a bandwidth fluctuation factor.
- :mod:`marlloc.data.worldbank`: World Development Indicators panels from a tidy CSV, World Bank
  bulk files or the live API (one tidy frame whatever the source), a labelled synthetic panel, and
  per-indicator coverage.

Every malformed input raises :class:`marlloc.core.errors.DataError` with a one-line message.
"""

from __future__ import annotations

from marlloc.data.topology import haversine_m, load_sites, load_user_positions, pick_topology
from marlloc.data.traces import fluctuation_factor, load_series, rate_multiplier
from marlloc.data.worldbank import DEFAULT_INDICATORS, INDICATORS, load_wdi, synthetic_wdi, wdi_coverage

__all__ = [
    "DEFAULT_INDICATORS",
    "INDICATORS",
    "fluctuation_factor",
    "haversine_m",
    "load_series",
    "load_sites",
    "load_user_positions",
    "load_wdi",
    "pick_topology",
    "rate_multiplier",
    "synthetic_wdi",
    "wdi_coverage",
]
