"""Wall-clock latency of short `guichet` commands, each as a fresh process, beside the interpreter's own start.

What is run, --runs times each, interleaved (so a burst of load hits every target alike), in a
temporary GUICHET_HOME whose SQLite database is created and migrated once beforehand:

  python -c pass                 the interpreter alone (the floor on this machine, right now)
  python -c "import click"       the interpreter + the CLI library
  guichet --help                 the whole command tree, no command run
  guichet explain FILE --at ...  parse + rules + guidance + the acknowledgement of one mail

The figure to read is the minimum of the runs (other load only slows a run); the median is
printed too. The load average before and after says how busy the machine was.

Usage: .venv/bin/python bench/cli_latency.py [--runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUICHET = [PYTHON, "-m", "workers.cli.main"]
EML = ROOT / "tests" / "corpus" / "001-numero-nu-ligne-entete.eml"
TARGETS = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "python -c 'import click'": [PYTHON, "-c", "import click"],
    "guichet --help": [*GUICHET, "--help"],
    "guichet explain (one mail)": [*GUICHET, "explain", str(EML), "--at", "2026-11-27T21:30"],
}


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, GUICHET_HOME=home, PYTHONPATH=str(ROOT))
        env.pop("DATABASE_URL", None)
        demo = ROOT / "config" / "directory-demo.csv"
        subprocess.run([*GUICHET, "directory", "import", str(demo)], env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        load_before = os.getloadavg()[0]
        runs = {name: [] for name in TARGETS}
        for _ in range(args.runs):
            for name, command in TARGETS.items():
                runs[name].append(timed(command, env))
        load_after = os.getloadavg()[0]
    result = {
        name: {"min_s": round(min(t), 3), "median_s": round(statistics.median(t), 3)}
        for name, t in runs.items()
    }
    result["load"] = [round(load_before, 1), round(load_after, 1)]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'command':30s} {'min s':>8s} {'median s':>9s}   ({args.runs} runs each)")
    for name in TARGETS:
        print(f"{name:30s} {result[name]['min_s']:8.3f} {result[name]['median_s']:9.3f}")
    print(f"load average {result['load'][0]} -> {result['load'][1]} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
