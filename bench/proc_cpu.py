"""CPU time of a process tree from /proc, per role (Linux only).

A snapshot reads, for the root process and every descendant, utime + stime (fields 14 and
15 of /proc/PID/stat, in clock ticks) plus cutime + cstime (what its children that already
exited and were reaped used), and gives each process a role from its command line or, when
its own says nothing, from its nearest ancestor's (a parser process of the SMTP listener is
"parsers", the second-look process of a worker is "worker").  The difference of two
snapshots is the CPU each role spent in between, including processes that started or ended
in the meantime (an ended one's time reaches its parent's cutime once reaped).

CPU time rather than wall time: another program on the machine slows a run down, but
barely changes how many CPU seconds each step of it costs.

Used by e2e_throughput.py and urgent_backlog.py; on its own:
    python bench/proc_cpu.py PID [--seconds 10]   # CPU of PID's tree per role over 10 s
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")

# (role, words that must all appear in the command line), first match wins.
ROLES = (
    ("redis", ("redis-server",)),
    ("worker", ("workers.cli.main", "worker")),
    ("smtp", ("workers.cli.main", "smtp")),
    ("web", ("workers.cli.main", "web")),
    ("fetch", ("workers.cli.main", "fetch")),
    ("run", ("workers.cli.main", "run")),
    ("baseline", ("--serve",)),
)
CHILD_ROLES = {"smtp": "parsers"}  # an unnamed child of an smtp process is a parser


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    own: float  # seconds: utime + stime
    reaped: float  # seconds: cutime + cstime (children already gone)
    cmdline: str


def read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return Proc(pid, ppid, (utime + stime) / TICK, (cutime + cstime) / TICK, cmdline)


def tree(root: int) -> dict[int, Proc]:
    """`root` and all its descendants now."""
    procs = {p.pid: p for p in map(read_proc, _all_pids()) if p is not None}
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in found:
            found[pid] = procs[pid]
            todo += children.get(pid, [])
    return found


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def own_role(cmdline: str) -> str | None:
    words = cmdline.split()
    for role, needed in ROLES:
        if all(any(n == w or w.endswith("/" + n) for w in words) for n in needed):
            return role
    return None


def roles(procs: dict[int, Proc]) -> dict[int, str]:
    """Each process's role: its own, else derived from its nearest ancestor's."""
    result: dict[int, str] = {}

    def role_of(pid: int) -> str:
        if pid not in result:
            p = procs[pid]
            named = own_role(p.cmdline)
            if named is None:
                parent = role_of(p.ppid) if p.ppid in procs else "other"
                named = CHILD_ROLES.get(parent, parent)
            result[pid] = named
        return result[pid]

    for pid in procs:
        role_of(pid)
    return result


def machine_busy() -> float:
    """CPU seconds the whole machine has spent not idle since boot (every core, every process:
    /proc/stat's first line less idle and iowait)."""
    with open("/proc/stat") as fh:
        ticks = [int(v) for v in fh.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK


@dataclass
class Snapshot:
    at: float
    procs: dict[int, Proc]
    role: dict[int, str]
    machine: float = 0.0  # machine_busy() at the snapshot
    caller: float = 0.0  # CPU seconds of the process taking the snapshot (a bench's client)

    @classmethod
    def take(cls, root: int) -> Snapshot:
        procs = tree(root)
        return cls(time.monotonic(), procs, roles(procs), machine_busy(), time.process_time())


def cpu_between(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per role spent between two snapshots of the same tree."""
    spent: dict[str, float] = {}
    for pid, p in after.procs.items():
        old = before.procs.get(pid)
        if old is not None and old.cmdline != p.cmdline and p.cmdline:
            old = None if old.own > p.own else old  # pid reused (rare): count from zero
        delta = p.own + p.reaped - ((old.own + old.reaped) if old else 0.0)
        role = after.role[pid]
        spent[role] = spent.get(role, 0.0) + max(0.0, delta)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pid", type=int, help="root of the process tree")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to watch")
    args = parser.parse_args()
    before = Snapshot.take(args.pid)
    time.sleep(args.seconds)
    after = Snapshot.take(args.pid)
    elapsed = after.at - before.at
    for role, seconds in sorted(cpu_between(before, after).items()):
        print(
            f"{role:<10} {seconds * 1000:9.1f} ms CPU  {100 * seconds / elapsed:6.2f} % of a core"
        )
    total = sum(cpu_between(before, after).values())
    print(f"{'total':<10} {total * 1000:9.1f} ms CPU  {100 * total / elapsed:6.2f} % of a core")


if __name__ == "__main__":
    main()
