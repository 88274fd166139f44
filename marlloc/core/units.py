"""Unit conversions, all in one place (and unit-tested).

Conventions: data sizes in Mbit, rates in Mbit/s, compute work in TFLOP, compute rates in
TFLOPS, storage in GB, times in ms. 1 Gbit/s = 1,000 Mbit/s; 1 TB = 1,000 GB; 1 PB = 10^6 GB.
"""

from __future__ import annotations

MS_PER_S = 1000.0
MBPS_PER_GBPS = 1000.0
GB_PER_TB = 1000.0
GB_PER_PB = 1_000_000.0
MBIT_PER_MBYTE = 8.0


def transfer_ms(size_mbit, rate_mbps):
    """Milliseconds to move ``size_mbit`` at ``rate_mbps`` (12 Mbit over 96 Mbit/s = 125 ms)."""
    return size_mbit / rate_mbps * MS_PER_S


def compute_ms(work_tflop, rate_tflops):
    """Milliseconds to run ``work_tflop`` at ``rate_tflops`` (0.5 TFLOP at 10 TFLOPS = 50 ms)."""
    return work_tflop / rate_tflops * MS_PER_S


def gbps_to_mbps(gbps):
    return gbps * MBPS_PER_GBPS


def tb_to_gb(tb):
    return tb * GB_PER_TB


def mbyte_to_mbit(mbyte):
    return mbyte * MBIT_PER_MBYTE
