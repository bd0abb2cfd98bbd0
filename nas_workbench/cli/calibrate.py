"""``nas-workbench calibrate``: its options, the progress bars it draws and the fit quality it prints.

Kept apart from `nas_workbench.profiling.calibration`, which needs torch, so that building the CLI's parser
(``nas-workbench --help``) imports no profiler.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from nas_workbench.cli._arguments import integer_at_least, parse_shape

if TYPE_CHECKING:
    from nas_workbench.profiling.calibration import Progress

__all__ = ["add_calibrate_arguments", "calibrate_command", "progress_bars"]


def progress_bars() -> Progress:
    """A ``progress(stage, done, total)`` that draws one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None or bar.total != total:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="op" if stage == "operators" else "net")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


#: The integer options of ``nas-workbench calibrate``: flag, lowest and highest value, default, help.
_INTEGER_OPTIONS = (
    ("--threads", 1, 1024, 1, "torch intra-op threads (default: 1, as a search)"),
    ("--num-classes", 1, 1_000_000, 10, "classifier outputs (default: 10)"),
    ("--networks", 1, 10_000, 20, "random networks measured per space"),
    ("--rounds", 1, 1_000, 3, "times each network is measured (median)"),
    ("--batch-size", 1, 65_536, 1, "batch size of the measurements (default: 1)"),
    ("--seed", 0, 2**32 - 1, 0, "seed of the random networks (default: 0)"),
)


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``nas-workbench calibrate``."""
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    parser.add_argument("--spaces", help="comma-separated search spaces (default: all)")
    parser.add_argument("--input-shape", default="3,32,32", help="C,H,W of the inputs (default: 3,32,32)")
    for flag, low, high, default, text in _INTEGER_OPTIONS:
        parser.add_argument(flag, type=integer_at_least(low, high), default=default, help=text)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def calibrate_command(args: argparse.Namespace) -> int:
    """``nas-workbench calibrate``: build this device's lookup table, with a progress bar on stderr, and
    print each correction with the fit used and its quality."""
    from nas_workbench.profiling.calibration import calibrate

    result = calibrate(
        device=args.device,
        threads=args.threads,
        spaces=args.spaces.split(",") if args.spaces else None,
        input_shape=parse_shape(args.input_shape),
        num_classes=args.num_classes,
        networks=args.networks,
        rounds=args.rounds,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=progress_bars(),
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"Lookup table for {result.table.device.key}: {result.path}")
    entries, timed = len(result.table.entries), result.operators_timed
    print(f"{entries} operator entries ({timed} timed now) in {result.seconds:.1f} s")
    shape = (args.batch_size, *parse_shape(args.input_shape))
    for name, quality in result.fits.items():
        c = result.table.corrections[result.table.correction_name(None if name == "all" else name, shape)]
        print(f"  {name:<13} {quality}  [{c.kind} fit: {c.formula()}]")
        loo = c.quality
        print(
            f"  {'':<13} out of sample (leave-one-out): Spearman {loo['loo_spearman']:.3f}, "
            f"{100 * loo['loo_within_10pct']:.0f}% within ±10%, "
            f"median error {loo['loo_median_error_pct']:.1f}% "
            f"(plain sum: {loo['plain_loo_median_error_pct']:.1f}%)"
        )
        if c.note:
            print(f"  {'':<13} {c.note}")
    return 0
