"""A study's report notebook (nbformat): its settings, plots, Pareto table and the code that rebuilds
the chosen architecture."""

from __future__ import annotations

import importlib.util
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from nas_workbench import _compat
from nas_workbench.engine.records import TrialResult, pareto_front, trial_results
from nas_workbench.engine.storage_urls import PASSWORD_NOTE, url_without_password
from nas_workbench.engine.study_record import StudyRecord, record_of
from nas_workbench.exceptions import ConfigError, MissingDependencyError
from nas_workbench.export.inputs import input_text, inside_text
from nas_workbench.export.models import target_path
from nas_workbench.export.selection import chosen_trial
from nas_workbench.spec import ArchSpec

__all__ = ["export_report_notebook"]


def _markdown_table(front: Sequence[TrialResult], objectives: Sequence[str]) -> str:
    from nas_workbench.viz import metric_axis_label, metric_label

    metrics = list(dict.fromkeys([*objectives, "accuracy", "test_accuracy", "params", "latency_ms"]))
    metrics = [m for m in metrics if any(m in r.metrics for r in front)]
    head = "| Trial | Architecture | " + " | ".join(metric_axis_label(m) for m in metrics) + " |"
    rule = "|" + "---|" * (len(metrics) + 2)
    rows = [
        f"| {r.number} | `{r.summary or r.arch}` | "
        + " | ".join(metric_label(dict(r.metrics[m])) if m in r.metrics else "n/a" for m in metrics)
        + " |"
        for r in front
    ]
    return "\n".join([head, rule, *rows])


def export_report_notebook(
    study: optuna.Study,
    path: str | os.PathLike[str],
    trial: int | None = None,
    storage: str | None = None,
) -> Path:
    """Write a report notebook of ``study`` (nbformat): its settings, plots, Pareto table and code
    that rebuilds the chosen architecture.

    The plots and the rebuild are code cells (run the notebook to see the live plots); the settings
    and the Pareto table, with every figure's unit and method, are Markdown and read anywhere. A relative
    SQLite file and data file (relative to this process's folder, as a search names them) are written
    relative to the notebook's folder, where its kernel runs: written to ``runs/exports/``, it opens
    ``../nas_workbench.db``, not an empty new ``runs/exports/runs/nas_workbench.db``.

    Args:
        study: The study.
        path: The ``.ipynb`` file to write.
        trial: The architecture to rebuild (default: the best feasible trial).
        storage: The storage URL the notebook opens the study from (default: the study's own).
    """
    try:
        import nbformat
        from nbformat import v4
    except ImportError:
        raise MissingDependencyError(
            "the report notebook needs nbformat: pip install 'nas-workbench[export]'"
        ) from None
    import yaml

    from nas_workbench.viz._state import budget_summary

    record = record_of(study)
    objectives, directions = list(record.objectives), list(record.directions)
    results = trial_results(study)
    front = pareto_front(results, directions)
    chosen = chosen_trial(study, trial)
    path = target_path(path)
    url = url_without_password(storage or _storage_url(study))  # no password leaves the process
    url = _storage_seen_from(path.parent, url)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "infeasible", "pruned", "failed")}
    config = record.config
    cells = [
        v4.new_markdown_cell(
            f"# NAS report: `{study.study_name}`\n\n"
            f"Space **{record.space or '?'}**, strategy **{record.strategy or '?'}**, objectives "
            + ", ".join(f"{m} ({d})" for m, d in zip(objectives, directions, strict=True))
            + f", budget {budget_summary(record)}.\n\n"
            f"{len(results)} trials: {counts['ok']} trained, {counts['infeasible']} over budget "
            "(not trained), "
            f"{counts['pruned']} stopped early, {counts['failed']} failed."
        ),
        v4.new_markdown_cell(
            "## Configuration\n\n```yaml\n" + yaml.safe_dump(config, sort_keys=False) + "```"
        ),
        v4.new_markdown_cell(
            "## Plots\n\nRun the next cell: the study's plots, with a table of the chosen point."
            + ("" if url.startswith("sqlite") else f" {PASSWORD_NOTE}")
        ),
        v4.new_code_cell(
            _space_path(record, path.parent) + "import nas_workbench as nw\n\n"
            f"nw.Workbench.load({json.dumps(study.study_name)}, storage={json.dumps(url)})"
        ),
        v4.new_markdown_cell(
            "## Pareto front\n\nFeasible trials no other feasible trial beats on every objective; each "
            "figure with its unit and how it was obtained (method, source).\n\n"
            + (_markdown_table(front, objectives) if front else "_No feasible completed trial._")
        ),
        v4.new_markdown_cell(
            f"## Rebuild trial {chosen.number}\n\n`{chosen.summary or chosen.arch}`\n\n"
            "The network is rebuilt from its spec; train it with `nas_workbench.export.train_model`, "
            "or export it with `nas_workbench.export`." + _outputs_text(record) + _inputs_text(record)
        ),
        v4.new_code_cell(_rebuild_code(ArchSpec.from_dict(chosen.spec), record, path.parent)),
    ]
    guided = _proxy_section(study)
    if guided is not None:  # a proxy-guided search: after the plots, which show its figures too
        cells.insert(4, v4.new_markdown_cell(guided))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
    return path


def _proxy_section(study: optuna.Study) -> str | None:
    """The Markdown section of a proxy-guided search (None for other studies): its pool, and at a few
    numbers of trained trials the Spearman correlation of the prior (equal trust) and of each estimator
    with the objective, beside the trust the strategy gave each estimator then, read from what its
    sampler recorded in the study."""
    from nas_workbench.viz import ProxyHistory

    history = ProxyHistory.from_study(study)
    if not len(history):
        return None
    text = f"## Proxy-guided search\n\nStrategy `proxy_guided`: {history.summary()}"
    rows = history.checkpoints()
    if not rows:
        return text + "\n\n_No trial trained yet: no correlation to show._"
    names = history.estimators

    def cell(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{value:.2f}"

    head = "| Trained | Prior (equal trust) | " + " | ".join(f"{n}: ρ / trust" for n in names) + " |"
    rule = "|" + "---|" * (len(names) + 2)
    lines = [
        f"| {r['trained']} | {cell(r['prior'])} | "
        + " | ".join(f"{cell(r[f'rho_{n}'])} / {cell(r[f'trust_{n}'])}" for n in names)
        + " |"
        for r in rows
    ]
    return "\n".join(
        [
            text,
            "",
            "Spearman correlation (ρ) with the objective over the trials trained so far (positive: the "
            "prior agrees), and the trust the strategy then gave each estimator (its rank weight: ρ shrunk "
            "towards 1 while few trials are trained); n/a before 3 trained trials.",
            "",
            head,
            rule,
            *lines,
        ]
    )


def _space_path(record: StudyRecord, folder: Path) -> str:
    """Code that puts this process's folder on ``sys.path`` as seen from ``folder`` (the notebook's), when
    the study's user-defined space lives in a module there (``my_spaces.py`` beside the config file, where
    the command line and a notebook's kernel import it from); nothing for a built-in space, a module
    installed elsewhere, or a notebook written in this folder. Without it a notebook written to
    ``runs/exports`` refused the space: "No module named 'my_spaces'"."""
    if record.space_reference is None:
        return ""
    top = record.space_reference.split(":")[0].split(".")[0]
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ""
    if found is None or found.origin is None:
        return ""
    origin = Path(found.origin)
    root = origin.parent.parent if found.submodule_search_locations else origin.parent
    here = _seen_from(folder, ".")
    if root.resolve() != Path.cwd().resolve() or here == ".":
        return ""
    return f"import sys\n\nsys.path.insert(0, {here!r})  # where {top} lives: the search's folder\n\n"


def _seen_from(folder: Path, path: str) -> str:
    """``path``, relative to this process's folder when not absolute, as code run in ``folder`` finds it:
    relative to ``folder`` (the files may move together), absolute where no relative path leads there
    (another drive)."""
    if os.path.isabs(path):
        return path
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    except ValueError:
        return os.path.abspath(path)


def _storage_seen_from(folder: Path, url: str) -> str:
    """``url`` as code run in ``folder`` opens the same storage: a relative SQLite file's path (relative
    to this process's folder) made relative to ``folder``; any other URL as it is."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy can parse: Optuna will say so where it is opened
        return url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    return parsed.set(database=_seen_from(folder, database)).render_as_string(hide_password=False)


def _storage_url(study: optuna.Study) -> str:
    storage = _compat.uncached_storage(study)  # Optuna wraps RDB storages in a cache
    url = getattr(storage, "url", None)
    if not isinstance(url, str):
        raise ConfigError(
            "storage", type(storage).__name__, "an RDB storage URL to write in the notebook (storage=)"
        )
    return url


def _outputs_text(record: StudyRecord) -> str:
    """The class of each of the network's outputs, as the study recorded them (nothing when unknown)."""
    names = record.data.class_names if record.data is not None else None
    if not names:
        return ""
    shown = ", ".join(f"{i} `{name}`" for i, name in enumerate(names[:20]))
    more = f", ... ({len(names)} in all: `class_names` below)" if len(names) > 20 else ""
    return f"\n\nIts outputs score the classes, in order: {shown}{more}."


def _inputs_text(record: StudyRecord) -> str:
    """What the network takes, and what `predict` and the exported models take (nothing when the study
    records no data)."""
    if record.data is None:
        return ""
    shape, scaling = record.data.shape, record.data.standardization
    network = f"\n\n`model` takes the task's tensors, shaped (N, {', '.join(map(str, shape))})"
    if scaling is not None:
        scope = "per feature" if len(scaling.mean) > 1 else "over all values"
        network += (
            f", standardised {scope} with the training split's mean and deviation (the study records "
            "them: `data.standardization`)"
        )
    return (
        f"{network}. `predict`, like the exported state dict, TorchScript and ONNX files, takes "
        f"{input_text(shape, scaling)}{inside_text(shape, scaling, detail=False)}."
    )


def _rebuild_code(spec: ArchSpec, record: StudyRecord, folder: Path) -> str:
    """Code that rebuilds ``spec`` for the study's data and trains it at the study's fidelity, run in
    ``folder`` (the notebook's)."""
    config = record.config
    seed = int(config.get("seed", 0))
    source = record.data.source if record.data is not None else None
    if record.own_data is None:
        data = f'task = nw.load_task("digits", seed={seed})\n'
    elif source is not None:  # a data file: its path as the search was given it, seen from the notebook
        found = {**source, "path": _seen_from(folder, str(source["path"]))}
        data = f"task = nw.load_task({found!r}, seed={seed})\n"
    else:
        data = f"task = ...  # the data the study searched on ({record.own_data}): nw.make_task(x, y)\n"
    fidelity = config.get("fidelity") or {}
    names = record.data.class_names if record.data is not None else None
    taken = "the data's examples as they are"
    if record.data is not None:
        taken = input_text(record.data.shape, record.data.standardization)
    if names:
        data += f"class_names = {list(names)!r}  # output i of the network scores class_names[i]\n"
    space = (  # a user-defined space: imported from where the study says it lives
        f"nw.spaces.resolve({record.space_reference!r})  # the study's search space\n"
        if record.space_reference is not None
        else ""
    )
    return (
        _space_path(record, folder) + "import nas_workbench as nw\n"
        "from nas_workbench.export import build_model, taking_raw_inputs, train_model\n\n"
        + space
        + f"spec = nw.ArchSpec.from_json({json.dumps(spec.to_json())})\n"
        + data
        + "model = build_model(spec, task.input_shape, task.num_classes)  # freshly initialised\n"
        f"# model = train_model(spec, task, nw.Fidelity(**{fidelity!r}))  # trained as in the search\n"
        f"predict = taking_raw_inputs(model, task)  # takes {taken}, as the exports do\n"
        "predict"
    )
