"""The commands about hardware: ``profile`` one architecture, ``device`` profiles of other machines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
    """``nas-workbench device propose|fit|show|list|finalists|verify``: latency profiles of devices the
    workbench cannot run on (`nas_workbench.profiling.targets`), and a search's finalists verified there
    (`nas_workbench.engine.device_verdicts`)."""
    from nas_workbench import spaces
    from nas_workbench.profiling import targets

    if args.action in ("finalists", "verify"):
        return _verification(args)
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
        print(device)
        return 0
    space = spaces.get(args.space)
    if args.action == "propose":
        return _propose(args, space)
    specs, latency = targets.read_measurements(args.csv, space)
    device = targets.fit_device(args.name, space, specs, latency, input_shape=parse_shape(args.input_shape),
                                num_classes=args.num_classes, prior=not args.no_prior,
                                reference=args.reference, local_prior=args.local_prior)  # fmt: skip
    print(f"saved device profile {device.name!r}\n{device}")
    return 0


def _verification(args: argparse.Namespace) -> int:
    """``device finalists``: a search's finalists to measure, written as ``propose`` writes its
    architectures; ``device verify``: their measured latencies given back, the profile refitted and the
    study's trials judged again."""
    from nas_workbench.cli.studies import load_study
    from nas_workbench.engine import device_verdicts
    from nas_workbench.profiling import targets

    study = load_study(args.study, args.storage)
    device, _, _ = device_verdicts.device_budget(study)  # a study without a device profile is refused
    space = device.search_space()
    if args.action == "verify":
        specs, latency = targets.read_measurements(args.csv, space, fewest=1, unmeasured=True)
        done = device_verdicts.verify(study, [space.format(s) for s in specs], latency)
        print(f"{done}; `nas-workbench show {args.study}` for the study judged again")
        return 0
    chosen = device_verdicts.finalists(study, args.k)
    if not chosen:
        print(f"study {args.study!r} has no trained trial within budget whose latency is only predicted")
        return 0
    print(chosen, file=sys.stderr)  # the table: which to measure first, how sure the profile is of each
    args.input_shape = args.input_shape or ",".join(map(str, device.input_shape))
    args.num_classes = args.num_classes or device.num_classes
    fit = f"nas-workbench device verify --study {args.study} " + (
        "" if args.storage is None else f"--storage {args.storage} "
    )
    return _write_archs(args, space, [f.arch for f in chosen], fit)


def _propose(args: argparse.Namespace, space: Any) -> int:
    """``device propose``: the architectures to measure, as a CSV to fill in (or printed)."""
    from nas_workbench.profiling import targets

    archs = targets.propose(space, args.n, args.seed, reference=args.reference)
    reference = "" if args.reference is None else f"--reference {args.reference} "  # the prior proposed with
    return _write_archs(args, space, archs, f"nas-workbench device fit NAME --space {args.space} {reference}")


def _write_archs(args: argparse.Namespace, space: Any, archs: list[str], fit: str) -> int:
    """The architectures to measure as a CSV to fill in (``--output``, or printed), and with ``--models``
    each one as a model file to run on the device, since a phone or a board runs files, not specs (its
    networks freshly initialised: latency does not depend on the weights); ``fit`` is the command that
    reads the CSV back, printed with the CSV's path."""
    from nas_workbench.profiling import targets

    shape = parse_shape(args.input_shape)
    output = args.output or (args.models / "archs.csv" if args.models else None)
    models = (
        _write_models(args.models, args.format, space, archs, shape, args.num_classes)
        if args.models
        else None
    )
    if output is None:
        print("\n".join(archs))
        return 0
    targets.write_proposal(output, archs, models)
    fit += str(output)
    if models and args.action == "propose":  # the profile's input and classes; the finalists have them
        fit += f" --input-shape {','.join(map(str, shape))} --num-classes {args.num_classes}"
    if models:
        from nas_workbench.export.inputs import example_shape  # (D,) for rows of D features: (1, D)

        size = "x".join(map(str, example_shape(shape)))
        print(f"wrote {len(archs)} {args.format} models to {args.models} (input 1x{size}, "
              f"{args.num_classes} outputs)", file=sys.stderr)  # fmt: skip
    print(f"wrote {len(archs)} architectures to {output}: measure each on the device and fill in latency_ms, "
          f"then `{fit}`", file=sys.stderr)  # fmt: skip
    return 0


def _write_models(
    folder: Path, fmt: str, space: Any, archs: list[str], shape: tuple[int, int, int], num_classes: int
) -> list[str]:
    """Each architecture's model file in ``folder`` (``arch-01.onnx``, ...): the names the CSV's
    ``model`` column gives."""
    from nas_workbench.export.formats import FORMATS
    from nas_workbench.export.models import export_onnx, export_torchscript

    write = export_onnx if fmt == "onnx" else export_torchscript
    digits = max(2, len(str(len(archs))))
    names = [f"arch-{index:0{digits}d}{FORMATS[fmt]}" for index in range(1, len(archs) + 1)]
    for number, (name, arch) in enumerate(zip(names, archs, strict=True), start=1):
        print(f"  {folder / name} ({number}/{len(archs)})", file=sys.stderr)  # an ONNX export takes seconds
        write(space.parse(arch), folder / name, shape, num_classes)
    return names
