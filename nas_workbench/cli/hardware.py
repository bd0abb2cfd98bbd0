"""The commands about hardware: ``profile`` one architecture, ``device`` profiles of other machines."""

from __future__ import annotations

import argparse
import json
import sys

from nas_workbench.cli._arguments import parse_shape

__all__ = ["cmd_device", "cmd_profile"]


def cmd_profile(args: argparse.Namespace) -> int:
    """``nas-workbench profile``: params, FLOPs, MACs, latency, memory and energy of one architecture."""
    from nas_workbench import spaces
    from nas_workbench.cli.calibrate import progress_bars
    from nas_workbench.profiling import profile

    space = spaces.get(args.space)
    spec = space.parse(args.arch) if args.arch is not None else space.random(args.seed)
    shape = parse_shape(args.input_shape)
    model = space.build(spec, shape, args.num_classes)
    result = profile(model, shape, device=args.device, method=args.method, batch_size=args.batch_size,
                     threads=args.threads, space=args.space,
                     calibration_progress=progress_bars())  # fmt: skip  # a first prediction calibrates
    payload = {"space": args.space, "arch": space.format(spec), **result.to_dict()}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{args.space}: {space.format(spec)}")
        for name, measurement in result.measurements.items():
            print(f"  {name:<16} {measurement}")
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    """``nas-workbench device propose|fit|show|list``: latency profiles of devices the workbench cannot
    run on (`nas_workbench.profiling.targets`)."""
    from nas_workbench import spaces
    from nas_workbench.profiling import targets

    if args.action == "list":
        for name in targets.list_devices():
            device = targets.load_device(name)
            print(f"{name}: {device.space}, {len(device.measurements)} measurements")
        return 0
    if args.action == "show":
        device = targets.load_device(args.name)
        if args.json:
            print(json.dumps(device.to_dict(), indent=2))
            return 0
        q = device.quality
        spearman = "-" if q["spearman"] is None else f"{q['spearman']:.3f}"
        lines = [
            f"{device.name}: latency of {device.space!r} networks at input {list(device.input_shape)}, "
            f"{device.source}",
            f"  cross-validated (leave-one-out): Spearman {spearman}, within ±10% "
            f"{100 * q['within_10pct']:.0f}%, median error {100 * q['median_rel_error']:.1f}%",
            f"  80% interval: a new architecture's latency lies within x{q['ratio_p10']:.2f} to "
            f"x{q['ratio_p90']:.2f} of its prediction (conformal, from the leave-one-out ratios)",
        ]
        if device.transfer is not None and device.reference is not None:
            weights = sorted(q["weights"].items(), key=lambda item: -item[1])
            lines.append(f"  prior: other devices' latencies in {device.reference['path']}; models averaged: "
                         + ", ".join(f"{name} {100 * w:.0f}%" for name, w in weights[:5]))  # fmt: skip
        print("\n".join(lines))
        return 0
    space = spaces.get(args.space)
    if args.action == "propose":
        archs = targets.propose(space, args.n, args.seed, reference=args.reference)
        if args.output:
            targets.write_proposal(args.output, archs)
            print(f"wrote {len(archs)} architectures to {args.output}: measure each on the device and fill "
                  f"in latency_ms, then `nas-workbench device fit NAME --space {args.space} {args.output}`",
                  file=sys.stderr)  # fmt: skip
        else:
            print("\n".join(archs))
        return 0
    specs, latency = targets.read_measurements(args.csv, space)
    device = targets.fit_device(args.name, space, specs, latency, input_shape=parse_shape(args.input_shape),
                                num_classes=args.num_classes, prior=not args.no_prior,
                                reference=args.reference)  # fmt: skip
    print(f"saved device profile {device.name!r} ({device.source}); "
          f"`nas-workbench device show {device.name}` for its quality")  # fmt: skip
    return 0
