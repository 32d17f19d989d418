"""Resource limits of a pool child, set for each job from its generator's ``resources``.

Memory: ``RLIMIT_AS`` at the child's address space when the job starts plus
``resources.memory_mb`` (the warm child's own mappings, e.g. the GL driver's, are not the
job's), so an allocation past it fails with ``MemoryError`` instead of the machine
swapping. CPU: ``RLIMIT_CPU`` at the CPU time used so far plus ``cpu_seconds``; the kernel
then sends ``SIGXCPU``, which ends the child (``isolated.py`` reports it). Soft limits
only: the hard ones stay where they were, so they can be lifted again between jobs.
"""

from __future__ import annotations

import math
import os
import resource
import signal

MB = 1 << 20
CPU_SIGNAL = signal.SIGXCPU


def address_space() -> int:
    """This process's virtual memory size in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class JobLimits:
    """Applies and lifts one job's limits; remembers what the soft limits were before."""

    def __init__(self) -> None:
        self._before = {
            r: resource.getrlimit(r)[0] for r in (resource.RLIMIT_AS, resource.RLIMIT_CPU)
        }

    def apply(self, memory_mb: int, cpu_seconds: float) -> None:
        if memory_mb > 0:
            _set_soft(resource.RLIMIT_AS, address_space() + memory_mb * MB)
        if cpu_seconds > 0:
            _set_soft(resource.RLIMIT_CPU, math.ceil(cpu_used() + cpu_seconds))

    def lift(self) -> None:
        for r, soft in self._before.items():
            _set_soft(r, soft)


def cpu_seconds_for(timeout: float, cpus: float) -> float:
    """The CPU-time limit of a job: its timeout at its declared number of cores (at least
    one). A job that stays within both its timeout and its cores never reaches it."""
    return max(1.0, timeout * max(1.0, cpus))


def _set_soft(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY and (value == resource.RLIM_INFINITY or value > hard):
        value = hard
    resource.setrlimit(which, (value, hard))
