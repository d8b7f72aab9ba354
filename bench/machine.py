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


def snapshot() -> dict[int, tuple[str, float, float, int]]:
    """pid -> (command line, CPU seconds so far, CPU seconds of its reaped children, ppid).

    The children's share matters: a gunicorn worker recycled during a run (max_requests)
    and wrk itself have exited by the end of the window; their CPU shows up in their
    parent's cutime/cstime once reaped (their whole life's: `usage` takes off what they
    had used before the window)."""
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
        out[int(entry.name)] = (name[:120], ticks / TICKS, children / TICKS, int(fields[1]))
    return out


def usage(before: dict, after: dict, seconds: float, ours: set[int], database: str) -> dict:
    """CPU cores used during the window: the benchmark's own processes and the others."""
    groups = {"app": 0.0, "postgres_bench": 0.0, "redis": 0.0, "wrk": 0.0, "foreign": 0.0}
    foreign: dict[str, float] = {}
    # Children that exited in the window: their parent's reaped time counts their whole
    # life, of which what they had used before the window is not this window's.
    earlier: dict[int, float] = {}
    for pid, (_, cpu, _, ppid) in before.items():
        if pid not in after:
            earlier[ppid] = earlier.get(ppid, 0.0) + cpu
    for pid, (name, cpu, reaped, _) in after.items():
        _, cpu_before, reaped_before, _ = before.get(pid, (name, 0.0, 0.0, 0))
        reaped_here = reaped - reaped_before - earlier.get(pid, 0.0)
        if pid == os.getpid():  # our only children during a run: wrk
            groups["wrk"] += max(reaped_here, 0.0)
            continue
        used = (cpu - cpu_before) + max(reaped_here, 0.0)
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
