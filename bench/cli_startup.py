"""Benchmark: how fast `taskbench --help` answers, against `python -c pass` as the floor.

Target: under 0.5 s. Run: python bench/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    help_cmd = [sys.executable, "-m", "tui.cli", "--help"]
    fit_help = [sys.executable, "-m", "tui.cli", "fit", "--help"]
    floor = [sys.executable, "-c", "pass"]
    timed(help_cmd)
    results = {name: [timed(cmd) for _ in range(args.runs)] for name, cmd in
               (("python -c pass", floor), ("taskbench --help", help_cmd), ("taskbench fit --help", fit_help))}
    for name, times in results.items():
        print(f"{name:<22} median {statistics.median(times):.3f} s")
    ratio = statistics.median(results["taskbench --help"]) / statistics.median(results["python -c pass"])
    print(f"taskbench --help is {ratio:.1f}x python start-up (target: under 0.5 s absolute)")


if __name__ == "__main__":
    main()
