"""Shared by the benchmarks: thread setup, a header naming the machine, alternating timing.

Every benchmark times its contenders in one process, in alternating rounds (so that drift in
CPU frequency or load hits all of them alike), and reports medians and their ratios.
"""

from __future__ import annotations

import os
import platform

import torch

import statistics

from swin_edu.attention_variants import run_alternating, time_alternating

__all__ = ["cpu_name", "setup", "run_alternating", "time_alternating", "ratio_line",
           "paired_ratio"]

# The CI machine has 2 cores; timing with 2 threads keeps the ratios representative.
DEFAULT_THREADS = 2


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def setup(num_threads: int = DEFAULT_THREADS) -> str:
    """Fix torch's thread count and return a one-line description of the machine."""
    torch.set_num_threads(num_threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, load average {load:.1f}")


def ratio_line(label: str, seconds: dict[str, float], numerator: str, denominator: str) -> str:
    """``label: a X ms / b Y ms = ratio``."""
    a, b = seconds[numerator], seconds[denominator]
    return (f"{label}: {numerator} {1e3 * a:.1f} ms / {denominator} {1e3 * b:.1f} ms "
            f"= {a / b:.3f}")


def paired_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """Median over rounds of ``numerator / denominator`` timed in the same round: steadier
    than a ratio of medians when the machine's load changes during the run."""
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))
