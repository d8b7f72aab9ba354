"""The machine: cores, CPU model, load average and who used the CPU during a run."""

from __future__ import annotations

import os
import platform
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def describe() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
    }


def snapshot() -> dict[int, tuple[str, float, float]]:
    """pid -> (command line, CPU seconds so far, CPU seconds of its reaped children).

    The children's share matters: a gunicorn worker recycled during a run (max_requests)
    and wrk itself have exited by the end of the window; their CPU shows up in their
    parent's cutime/cstime once reaped."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        children = int(fields[13]) + int(fields[14])
        name = cmd.strip() or stat.split("(", 1)[1].rsplit(")", 1)[0]
        out[int(entry.name)] = (name[:120], ticks / TICKS, children / TICKS)
    return out


def usage(before: dict, after: dict, seconds: float, ours: set[int], database: str) -> dict:
    """CPU cores used during the window: the benchmark's own processes and the others."""
    groups = {"app": 0.0, "postgres_bench": 0.0, "redis": 0.0, "wrk": 0.0, "foreign": 0.0}
    foreign: dict[str, float] = {}
    for pid, (name, cpu, reaped) in after.items():
        _, cpu_before, reaped_before = before.get(pid, (name, 0.0, 0.0))
        if pid == os.getpid():  # our only children during a run: wrk
            groups["wrk"] += reaped - reaped_before
            continue
        used = (cpu - cpu_before) + (reaped - reaped_before)
        if used <= 0:
            continue
        if pid in ours:
            groups["app"] += used
        elif name.startswith("wrk"):
            groups["wrk"] += used
        elif "postgres" in name and database in name:
            groups["postgres_bench"] += used
        elif name.startswith("/usr/bin/redis-server") or name.startswith("redis-server"):
            groups["redis"] += used
        else:
            groups["foreign"] += used
            foreign[name] = foreign.get(name, 0.0) + used
    top = sorted(foreign.items(), key=lambda item: -item[1])[:3]
    return {
        **{k: round(v / seconds, 2) for k, v in groups.items()},
        "foreign_top": [(name[:60], round(v / seconds, 2)) for name, v in top],
    }
