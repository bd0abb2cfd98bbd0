"""Networks from specs, and the files that carry them: JSON spec, PyTorch weights, TorchScript, ONNX.

Every file carries the `ArchSpec` it was built from, so a model can always be rebuilt and traced back to
its study, and, where known, what the network was built for (`built_for`): its input shape, its number
of outputs, the class each output is (``class_names``: output ``i`` scores class ``class_names[i]``) and
what the exported models take (``model_input``, `nas_workbench.export.inputs`).
A spec file and TorchScript's ``spec.json`` hold them under the spec's ``"data"`` key (which
`ArchSpec.from_json` passes over), ONNX in its metadata, the state dict beside its weights.
Weight-carrying exports take a ``model``: the trained network, or by default the network freshly
initialised from the search's seed. A search's networks take inputs standardised with its training
split's statistics (`nas_workbench.make_task`); given them (``standardization``), the state dict's
rebuilt network, TorchScript and ONNX standardise inside (`nas_workbench.export.raw_inputs`), so they
take raw inputs, and ``"data"`` records them. A network of a table's rows (input shape (1, 1, D)) is
exported taking rows as the user has them, (N, D); one of images, (N, C, H, W).
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas_workbench import spaces
from nas_workbench.config import Fidelity
from nas_workbench.exceptions import ConfigError, MissingDependencyError, NasWorkbenchError
from nas_workbench.export.inputs import example_shape, model_input
from nas_workbench.export.raw_inputs import raw_input_model
from nas_workbench.spec import ArchSpec
from nas_workbench.standardization import Standardization
from nas_workbench.task import Task

__all__ = [
    "Network",
    "WeightsExporter",
    "build_model",
    "built_for",
    "export_onnx",
    "export_spec",
    "export_state_dict",
    "export_torchscript",
    "load_state_dict",
    "target_path",
    "train_model",
]

#: Tag of the state-dict file layout, checked when it is read back.
STATE_DICT_FORMAT = "nas_workbench.state_dict/1"

SpecLike = ArchSpec | Mapping[str, Any]


def _spec(spec: SpecLike) -> ArchSpec:
    return spec if isinstance(spec, ArchSpec) else ArchSpec.from_dict(spec)


def target_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a `Path`, its folder created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def build_model(spec: SpecLike, input_shape: Sequence[int], num_classes: int, seed: int = 0) -> nn.Module:
    """The network of ``spec``, initialised from ``seed``, in eval mode."""
    spec = _spec(spec)
    torch.manual_seed(seed)
    space = spaces.get(spec.space, **spec.options)
    return space.build(space.validate(spec), tuple(input_shape), num_classes).eval()


def train_model(
    spec: SpecLike, task: Task, fidelity: Fidelity | None = None, seed: int = 0, device: str = "cpu"
) -> nn.Module:
    """Build ``spec`` for ``task`` and train it at ``fidelity`` (default `Fidelity()`); eval mode, CPU."""
    from nas_workbench.estimation.trainer import train

    model = build_model(spec, task.input_shape, task.num_classes, seed)
    train(model, task, fidelity or Fidelity(), seed=seed, device=device)
    return model.cpu().eval()


def built_for(
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    standardization: Standardization | None = None,
) -> dict[str, Any]:
    """What export files record of the data a network was built for: those of its input shape, number of
    outputs, class names (output ``i`` scores class ``class_names[i]``), the standardisation of its
    inputs (`Standardization.to_dict`, with a note saying what it means) and what the exported models
    take (``model_input``: `nas_workbench.export.inputs.model_input`) that are known.

    Raises:
        ConfigError: ``class_names`` does not name each of ``num_classes`` outputs once, or
            ``standardization`` holds neither one value nor one per input value.
    """
    if class_names is not None and num_classes is not None and len(class_names) != num_classes:
        raise ConfigError("class_names", list(class_names), f"one name per output: {num_classes} names")
    if standardization is not None and input_shape is not None:
        values = math.prod(input_shape)
        if len(standardization.mean) not in (1, values):
            raise ConfigError(
                "standardization",
                f"{len(standardization.mean)} means",
                f"one mean and deviation, or one per input value ({values} for input shape "
                f"{tuple(input_shape)})",
            )
    known: dict[str, Any] = {
        "input_shape": None if input_shape is None else [int(n) for n in input_shape],
        "num_classes": None if num_classes is None else int(num_classes),
        "class_names": None if class_names is None else [str(name) for name in class_names],
        "standardization": None if standardization is None else standardization.to_dict(),
        "model_input": None if input_shape is None else model_input(input_shape, standardization),
    }
    return {key: value for key, value in known.items() if value is not None}


def _spec_document(spec: ArchSpec, data: Mapping[str, Any]) -> str:
    """The spec's JSON as files carry it: with ``"data"`` (`built_for`) when anything of it is known."""
    document = {**spec.to_dict(), "data": dict(data)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")) if data else spec.to_json()


def export_spec(
    spec: SpecLike,
    path: str | os.PathLike[str],
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    standardization: Standardization | None = None,
) -> Path:
    """Write ``spec`` as JSON (`ArchSpec.from_json` reads it back), with what is known of the data its
    network is built for under ``"data"`` (`built_for`): a network rebuilt from it takes standardised
    inputs, ``(x - mean) / std`` with ``"data"``'s ``standardization``, while ``"data"``'s ``model_input``
    says what the weight-carrying exports of it take."""
    known = built_for(input_shape, num_classes, class_names, standardization)
    document = _spec_document(_spec(spec), known)
    path = target_path(path)
    path.write_text(document + "\n")
    return path


@dataclass(frozen=True)
class Network:
    """What a weight-carrying file is written from: the spec, its network (eval mode, CPU), the input
    shape (C, H, W), class count, class names and input standardisation (None: unknown, or none) it was
    built for, and whether its weights were trained."""

    spec: ArchSpec
    module: nn.Module
    input_shape: tuple[int, ...]
    num_classes: int
    trained: bool
    class_names: tuple[str, ...] | None = None
    standardization: Standardization | None = None

    def document(self) -> str:
        """The spec's JSON with what the network was built for (`built_for`)."""
        known = built_for(self.input_shape, self.num_classes, self.class_names, self.standardization)
        return _spec_document(self.spec, known)

    def taking_raw_inputs(self) -> nn.Module:
        """The network as TorchScript and ONNX hold it: taking rows (N, D) for a network of rows, and
        standardising its raw inputs first, if any (`raw_input_model`)."""
        return raw_input_model(self.module, self.input_shape, self.standardization)

    def example_inputs(self) -> torch.Tensor:
        """Zeros shaped as the exported model takes them (`example_shape`), a batch of 2: what
        TorchScript traces and ONNX exports it with."""
        return torch.zeros(2, *example_shape(self.input_shape))


class WeightsExporter:
    """One weight-carrying file format (`export_state_dict`, `export_torchscript`, `export_onnx`).

    Called as ``exporter(spec, path, input_shape, num_classes, model=None, class_names=None,
    standardization=None)``: takes the trained ``model``, or by default ``spec``'s network freshly
    initialised, creates ``path``'s folder, hands the `Network` to the format's writer and returns
    ``path``. ``class_names`` names the class of each output, written into the file; ``standardization``
    (`Task.standardization`) is applied inside the exported model, which then takes raw inputs. The
    writer's docstring is the exporter's.
    """

    def __init__(self, write: Callable[[Network, Path], None]) -> None:
        self.write = write
        self.__name__ = write.__name__
        self.__doc__ = write.__doc__

    def __call__(
        self,
        spec: SpecLike,
        path: str | os.PathLike[str],
        input_shape: Sequence[int],
        num_classes: int,
        model: nn.Module | None = None,
        class_names: Sequence[str] | None = None,
        standardization: Standardization | None = None,
    ) -> Path:
        spec = _spec(spec)
        built_for(input_shape, num_classes, class_names, standardization)  # checked before any work
        module = build_model(spec, input_shape, num_classes) if model is None else model.cpu().eval()
        names = None if class_names is None else tuple(class_names)
        network = Network(
            spec, module, tuple(input_shape), num_classes, model is not None, names, standardization
        )
        path = target_path(path)
        self.write(network, path)
        return path

    def __repr__(self) -> str:
        return f"<nas_workbench export {self.__name__}>"


@WeightsExporter
def export_state_dict(network: Network, path: Path) -> None:
    """Save the weights of ``model`` (default: ``spec`` freshly initialised) with the spec to rebuild it.

    The file is a `torch.save` dict ``{"format", "spec", "input_shape", "num_classes", "class_names",
    "standardization", "model_input", "trained", "state_dict"}`` (``class_names`` and
    ``standardization``, as `Standardization.to_dict` writes it, None when unknown), readable with
    ``torch.load(path, weights_only=True)``; ``state_dict`` holds the network's own weights (`build_model`
    takes them, for inputs of ``input_shape``), and `load_state_dict` rebuilds the network from it taking
    what ``model_input`` says: rows (N, D) for a network of rows, raw inputs standardised inside.
    """
    torch.save(
        {
            "format": STATE_DICT_FORMAT,
            "spec": network.spec.to_dict(),
            "input_shape": list(network.input_shape),
            "num_classes": network.num_classes,
            "class_names": None if network.class_names is None else list(network.class_names),
            "standardization": None if network.standardization is None else network.standardization.to_dict(),
            "model_input": model_input(network.input_shape, network.standardization),
            "trained": network.trained,
            "state_dict": network.module.state_dict(),
        },
        path,
    )


def load_state_dict(path: str | os.PathLike[str]) -> tuple[ArchSpec, nn.Module]:
    """Rebuild the network saved by `export_state_dict`: its spec and the network with its weights, taking
    what the file's ``model_input`` says: rows (N, D) for a network of rows, raw inputs standardised
    inside when the file records their standardisation (`raw_input_model`)."""
    data = torch.load(path, weights_only=True)
    if not isinstance(data, dict) or data.get("format") != STATE_DICT_FORMAT:
        raise NasWorkbenchError(f"{path} is not a state dict written by nas_workbench.export_state_dict")
    spec = ArchSpec.from_dict(data["spec"])
    model = build_model(spec, data["input_shape"], data["num_classes"])
    model.load_state_dict(data["state_dict"])
    scaling = Standardization.from_dict(data.get("standardization"))
    return spec, raw_input_model(model, data["input_shape"], scaling)


@WeightsExporter
def export_torchscript(network: Network, path: Path) -> None:
    """Save a traced TorchScript module (``torch.jit.load``), the spec in its extra file ``spec.json``
    with what the network was built for under ``"data"`` (its class names among them, when known); it
    takes what ``"data"``'s ``model_input`` says: rows (N, D) for a network of rows, raw inputs
    (standardising them first, as ``"data"``'s ``standardization`` says)."""
    traced = torch.jit.trace(network.taking_raw_inputs(), network.example_inputs())
    torch.jit.save(traced, str(path), _extra_files={"spec.json": network.document()})


def _not_torchvision_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("torchvision is not installed")


def _silence_known_exporter_notices() -> None:
    """Filter the notices torch's exporters give on every export that say nothing about ours, once, as
    this module is imported. Installed for good rather than around each export: exports run on the
    workbench's worker thread, and ``warnings.catch_warnings`` swaps process-wide state that other
    threads see. Each filter matches one message of torch's only.

    - TorchScript is deprecated since torch 2.9 ("torch.jit.* is deprecated"); this export exists for
      its users.
    - The ONNX exporter's op registry logs "torchvision is not installed. Skipping torchvision::<op>" for
      each of four torchvision ops when torchvision is absent (it is no dependency: the networks use none
      of them); a filter on that one logger drops exactly these records, its other warnings still show.
    - ``ExportedProgram.run_decompositions`` deep-copies pytree specs, which re-creates ``LeafSpec``s and
      so trips torch's own FutureWarning "`isinstance(treespec, LeafSpec)` is deprecated" (torch
      internals, not a call of ours).
    """
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated", category=category)
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    logging.getLogger("torch.onnx._internal.exporter._registration").addFilter(_not_torchvision_notice)


_silence_known_exporter_notices()


@WeightsExporter
def export_onnx(network: Network, path: Path) -> None:
    """Save an ONNX model (input ``input``: rows (batch, D) for a network of rows, else (batch, C, H, W),
    raw, standardised inside as ``"data"``'s ``standardization`` says; output ``logits``; any batch
    size), the spec in its metadata under ``nas_workbench.spec`` (what the network was built for under
    its ``"data"``), what the model takes under ``nas_workbench.model_input`` (`model_input`'s JSON; its
    words are the input's doc string too) and, when known, the class of each output under
    ``nas_workbench.class_names`` (a JSON list, as ONNX Runtime's ``custom_metadata_map`` gives them).
    Needs the ``export`` extra (onnx, onnxscript)."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(
            "ONNX export needs onnx and onnxscript: pip install 'nas-workbench[export]'"
        ) from None
    program = torch.onnx.export(  # the torch.export-based exporter, torch's default and recommended one
        network.taking_raw_inputs(),
        (network.example_inputs(),),
        input_names=["input"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        verbose=False,
    )
    assert program is not None
    proto = program.model_proto
    taken = model_input(network.input_shape, network.standardization)
    props = {"nas_workbench.spec": network.document(), "nas_workbench.model_input": json.dumps(taken)}
    proto.graph.input[0].doc_string = taken["what"]
    if network.class_names is not None:
        props["nas_workbench.class_names"] = json.dumps(list(network.class_names))
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, str(path))
