"""Start-up of `nas-workbench --help`, of importing the torch-free core and of importing the spaces and
strategies (torch only to build or train a network): wall and CPU time per process.

Each command runs in a fresh interpreter ``--runs`` times; the CPU time (user + sys, from ``os.wait4``) is
what a busy machine does not inflate, the wall time is what a user waits. The imports also assert that
torch stays unloaded. Baseline in the same run: ``python -c pass``.

    python benchmarks/cli_startup.py [--runs 10] [--json out.json]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import _report  # this folder is on the path when run as a script

COMMANDS = {
    "python -c pass": "pass",
    "nas-workbench --help": (
        "import sys; from nas_workbench.cli import main; sys.argv = ['nas-workbench', '--help']; main()"
    ),
    "import config, spec (no torch)": (
        "import sys, nas_workbench.config, nas_workbench.spec; "
        "assert 'torch' not in sys.modules, 'torch loaded'"
    ),
    "import spaces, strategies (no torch)": (
        "import sys, nas_workbench.spaces, nas_workbench.strategies; "
        "assert 'torch' not in sys.modules, 'torch loaded'"
    ),
}


def run_once(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running ``code``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{code!r} failed")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    figures = {}
    print(f"{'median of ' + str(args.runs):38}{'wall s':>10}{'CPU s':>10}")
    for name, code in COMMANDS.items():
        walls, cpus = zip(*(run_once(code) for _ in range(args.runs)), strict=True)
        figures[name] = {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}
        print(f"{name:38}{figures[name]['wall_s']:>10.3f}{figures[name]['cpu_s']:>10.3f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    _report.write_json(args.json, figures)


if __name__ == "__main__":
    main()
