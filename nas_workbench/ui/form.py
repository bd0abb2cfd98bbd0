"""The configuration form: an ipywidgets field for every `SearchConfig` setting, in five tabs.

`ConfigForm.read()` turns the fields into a validated `SearchConfig` or shows what is wrong under the
field concerned (and opens its tab); `ConfigForm.write(config)` shows a config. Around the fields the
form shows what helps to choose: the space's size as its options change, what the strategy does and
which one the advisor recommends for this space, objectives and budget. The Run tab also holds where the
trials run (`WorkersChoice`), a run option that is not part of the config.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from typing import Any

import ipywidgets as W

from nas_workbench import spaces, strategies
from nas_workbench.config import OBJECTIVE_METRICS, Fidelity, SearchConfig, default_storage
from nas_workbench.engine.budget import DEFAULT_METRICS
from nas_workbench.engine.preflight import budget_report
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.profiling import METRICS
from nas_workbench.relative_budget import GRAMMAR, RELATIVE_METRICS, budget_value
from nas_workbench.strategies.advisor import advise
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field, OptionsEditor, json_field, option_field
from nas_workbench.ui._workers import WorkersChoice
from nas_workbench.ui.data import DatasetChoices

__all__ = ["BUDGET_RANGES", "ConfigForm", "available_devices"]

logger = logging.getLogger("nas_workbench")

_STYLE = {"description_width": DESCRIPTION_WIDTH}
_WIDE = W.Layout(width="95%")

#: Slider range per budget metric, as powers of ten (the sliders are logarithmic).
BUDGET_RANGES: dict[str, tuple[int, int]] = {
    "params": (2, 9),
    "flops": (3, 13),
    "macs": (3, 13),
    "latency_ms": (-3, 3),
    "peak_memory_mb": (-2, 5),
    "energy_mj": (-3, 4),
}

_TABS = ("Search space", "Strategy", "Objectives & budget", "Data & training", "Run")

_PRUNERS = ["none", "median", "successive_halving", "hyperband"]


def available_devices() -> list[tuple[str, str]]:
    """``(label, device)`` for each device this kernel can search on: the CPU, each GPU, Apple MPS."""
    import torch

    devices = [("cpu", "cpu")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index} ({torch.cuda.get_device_name(index)})", f"cuda:{index}"))
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        devices.append(("mps (Apple GPU)", "mps"))
    return devices


def _optional_number(key: str, description: str, tooltip: str, integer: bool = False) -> Field:
    """A number where 0 means "none" (timeouts, threads, resolution)."""
    kind = W.IntText if integer else W.FloatText
    box = kind(value=0, description=description, tooltip=tooltip, style=_STYLE)

    def read() -> Any:
        if box.value < 0:
            raise ConfigError(key, box.value, "a positive number, or 0 for none")
        return None if box.value == 0 else box.value

    return Field(key, box, read, lambda v: setattr(box, "value", 0 if v is None else v))


def _value(
    key: str, kind: type[W.ValueWidget], cast: Callable[[Any], Any] | None = None, **options: Any
) -> Field:
    """A field whose widget's value is the setting (``cast`` applied when read)."""
    widget = kind(style=_STYLE, **options)
    return Field(
        key,
        widget,
        (lambda: cast(widget.value)) if cast else (lambda: widget.value),
        lambda v: setattr(widget, "value", v),
    )


def _text(key: str, description: str, placeholder: str) -> Field:
    """A text field where an empty box means None (storage, study name)."""
    widget = W.Text(description=description, placeholder=placeholder, style=_STYLE, layout=_WIDE)
    return Field(
        key, widget, lambda: widget.value.strip() or None, lambda v: setattr(widget, "value", v or "")
    )


def _tags(key: str, label: str, allowed: list[str], empty: list[str] | None = None) -> Field:
    """Tags chosen among ``allowed``, in order; with ``empty``, those tags read as None (the default)."""
    tags = W.TagsInput(allowed_tags=allowed, allow_duplicates=False)

    def read() -> list[str] | None:
        chosen = list(tags.value)
        return None if empty is not None and chosen == empty else chosen

    def write(value: list[str] | None) -> None:
        tags.value = list(empty if value is None and empty is not None else value or [])

    shown = W.HBox([W.Label(label, layout=W.Layout(width=DESCRIPTION_WIDTH)), tags])
    return Field(key, tags, read, write, shown=shown)


def _lines(key: str, description: str, placeholder: str) -> Field:
    """One entry per line (initial architectures)."""
    area = W.Textarea(description=description, placeholder=placeholder, style=_STYLE, layout=_WIDE)
    return Field(
        key,
        area,
        lambda: [line.strip() for line in area.value.splitlines() if line.strip()],
        lambda v: setattr(area, "value", "\n".join(v)),
    )


def _target_device_field() -> Field:
    """The saved device profile latency is predicted for (``target_device``), or this machine."""
    from nas_workbench.profiling.targets import list_devices

    here = ("this machine (measured)", None)
    box = W.Dropdown(
        options=[here, *((f"{name} (predicted)", name) for name in list_devices())],
        description="latency for",
        tooltip="a device profile from `nas-workbench device fit`, or this machine",
        style=_STYLE,
    )

    def write(name: str | None) -> None:
        if name not in [value for _, value in box.options]:
            box.options = [*box.options, (f"{name} (not saved here)", name)]
        box.value = name

    return Field("target_device", box, lambda: box.value, write)


def _note() -> W.HTML:
    """A line of help, aligned with the fields' inputs."""
    return W.HTML(layout=W.Layout(margin=f"0 0 4px {DESCRIPTION_WIDTH}"))


class ConfigForm:
    """The widgets of a `SearchConfig`.

    Args:
        config: The config shown at first (default: `SearchConfig()`).
        namespace: Where to look for datasets (the kernel's namespace: ``get_ipython().user_ns``).
    """

    def __init__(
        self, config: SearchConfig | None = None, namespace: Mapping[str, Any] | None = None
    ) -> None:
        self._quiet = True  # no live validation while the form is built or written
        self.fields: dict[str, Field] = {}
        self._tab_of: dict[str, int] = {}
        self.datasets = DatasetChoices(namespace)
        self.space_options = OptionsEditor("space_options", self._changed)
        self.strategy_options = OptionsEditor("strategy_options", self._changed)
        self.message = W.HTML()
        self.space_size = _note()
        self.strategy_help = _note()
        self.advice = _note()
        self.use_advice = W.Button(description="Use advice", layout=W.Layout(display="none"))
        self.use_advice.on_click(lambda _: self._take_advice())
        self._advised: str | None = None
        self.workers = WorkersChoice(self._changed)
        #: The budget check: a button, its progress or error, and its answer under each limit it checks.
        self.budget_check = W.Button(
            description="Check budget",
            icon="search",
            tooltip="find the fastest (smallest) network of the space on this device, resolve relative "
            "limits, and say whether the latency and memory limits can be met",
        )
        self.budget_check.on_click(lambda _: self.check_budget())
        self.budget_status = W.HTML()
        self.budget_checks: dict[str, W.HTML] = {}
        tabs = [self._space_tab(), self._strategy_tab(), self._goals_tab(), self._data_tab(), self._run_tab()]
        children = [self._tab(index, items) for index, items in enumerate(tabs)]
        run = children[-1]
        run.children = (*run.children, *self._tab(len(tabs) - 1, list(self._other_fields())).children)
        self._tab_of[self.workers.count.key] = _TABS.index("Run")
        self.tabs = W.Tab(children=children)
        for index, title in enumerate(_TABS):
            self.tabs.set_title(index, title)
        self.widget = W.VBox([self.tabs])
        self.write(config or SearchConfig())

    # -- building --------------------------------------------------------------------------------------
    def _tab(self, index: int, items: list[Field | W.Widget]) -> W.VBox:
        """A tab of fields (registered, watched for changes) and plain widgets, in order."""
        children = []
        for item in items:
            if isinstance(item, Field):
                self.fields[item.key] = item
                self._tab_of[item.key] = index
                if item.key not in ("space_options", "strategy_options"):  # their editors watch themselves
                    item.widget.observe(lambda _: self._changed(), names="value")
                children.append(item.box)
            else:
                children.append(item)
        return W.VBox(children)

    def _space_tab(self) -> list[Field | W.Widget]:
        space = _value("space", W.Dropdown, options=spaces.list(), description="space")
        space.widget.observe(lambda change: self._space_changed(change["new"]), names="value")
        options = self.space_options
        return [
            space,
            self.space_size,
            Field("space_options", W.Label(), options.read, options.write, shown=options.box),
            json_field("fixed_choices", "fixed choices", {}, "decisions fixed for the whole search"),
            _lines("initial_architectures", "initial architectures", "one per line, in the space's notation"),
            json_field(
                "warm_start", "warm start", {}, "an earlier study's best first: study_name, storage, top_k"
            ),
        ]

    def _strategy_tab(self) -> list[Field | W.Widget]:
        strategy = _value("strategy", W.Dropdown, options=strategies.list(), description="strategy")
        strategy.widget.observe(lambda change: self._strategy_changed(change["new"]), names="value")
        options = self.strategy_options
        return [
            strategy,
            self.strategy_help,
            W.HBox([self.advice, self.use_advice]),
            Field("strategy_options", W.Label(), options.read, options.write, shown=options.box),
            _value(
                "pruner",
                W.Dropdown,
                options=_PRUNERS,
                description="pruner",
                tooltip="early stopping of trials on their per-epoch accuracy",
            ),
            json_field("pruner_options", "pruner options", {}),
        ]

    def _goals_tab(self) -> list[Field | W.Widget]:
        device = W.Dropdown(options=available_devices(), description="target device", style=_STYLE)
        return [
            _tags("objectives", "objectives", list(OBJECTIVE_METRICS)),
            W.HTML("<b>Hardware budget</b> (limits per network; over budget = infeasible, not trained)"),
            *[self._budget_field(metric) for metric in METRICS],
            W.HBox([self.budget_check, self.budget_status]),
            Field("device", device, lambda: device.value, self._write_device),
            _target_device_field(),
            _value(
                "profiling_method",
                W.ToggleButtons,
                options=["measured", "proxy"],
                description="profiling",
                tooltips=["run on the device", "estimate without running"],
            ),
            _value(
                "latency_batch_size",
                W.BoundedIntText,
                int,
                min=1,
                max=65_536,
                description="latency batch size",
            ),
            _optional_number("threads", "CPU threads", "torch threads; 0: torch's default", integer=True),
            _tags("profile_metrics", "metrics recorded", list(METRICS), empty=list(DEFAULT_METRICS)),
        ]

    def _budget_field(self, metric: str) -> Field:
        """A limit: a checkbox to set one, a logarithmic slider for its value, in the metric's unit; for
        latency and memory also a box for a limit relative to this device ("p30", "1.5x fastest"), which
        wins over the slider when filled, and a line under the field for the budget check's answer."""
        info = METRICS[metric]
        low, high = BUDGET_RANGES[metric]
        label = f"{info.label} ({info.unit})"
        enabled = W.Checkbox(description=label, indent=False, layout=W.Layout(width=DESCRIPTION_WIDTH))
        slider = W.FloatLogSlider(
            value=10 ** ((low + high) // 2),
            base=10,
            min=low,
            max=high,
            step=0.01,
            readout_format=".3g",
            disabled=True,
            continuous_update=False,
            layout=W.Layout(width="420px"),
        )
        relative = W.Text(
            placeholder="or relative: p30, 1.5x fastest",
            tooltip=GRAMMAR,
            disabled=True,
            continuous_update=False,
            layout=W.Layout(width="200px", display="" if metric in RELATIVE_METRICS else "none"),
        )
        checked = _note()
        self.budget_checks[metric] = checked

        def edited(change: Mapping[str, Any]) -> None:
            checked.value = ""  # the check's answer was for the limit before this edit
            if change["owner"] is enabled:
                slider.disabled = relative.disabled = not change["new"]
                self._changed()

        for widget in (enabled, slider, relative):
            widget.observe(edited, names="value")
        relative.observe(lambda _: self._changed(), names="value")

        def read() -> float | str | None:
            if not enabled.value:
                return None
            return budget_value(relative.value) if relative.value.strip() else slider.value

        def write(limit: float | str | None) -> None:
            enabled.value = limit is not None
            relative.value = limit if isinstance(limit, str) else ""
            if isinstance(limit, int | float) and limit > 0:  # widen the slider to show any limit exactly
                exponent = math.log10(limit)
                slider.min = min(slider.min, math.floor(exponent))
                slider.max = max(slider.max, math.ceil(exponent))
                slider.value = limit

        shown = W.VBox([W.HBox([enabled, slider, W.Label(info.unit), relative]), checked])
        return Field(f"budget.{metric}", slider, read, write, shown)

    def check_budget(self, background: bool = True) -> threading.Thread | None:
        """Show under the latency and memory limits what they mean on this device: a relative limit's
        value, the tightest achievable value, or why no architecture can meet the limit (as the Check
        button does). It loads the data and profiles networks (seconds to a minute), so by default it
        runs in a thread, off the keystroke path; returns that thread (None when nothing is checked)."""
        config = self.validate()
        checked = [m for m in RELATIVE_METRICS if config is not None and m in config.budget]
        if config is None or not checked:
            self.budget_status.value = "" if config is None else "<i>no latency or memory limit to check</i>"
            return None
        self.budget_check.disabled = True
        self.budget_status.value = "<i>checking the budget on this device…</i>"

        def work() -> None:
            try:
                lines = budget_report(config)
                for metric, line in lines.items():
                    color = "#b00020" if line.startswith("unreachable") else "#2c662d"
                    self.budget_checks[
                        metric
                    ].value = f'<span style="color:{color}">{html.escape(line)}</span>'
                self.budget_status.value = ""
            except NasWorkbenchError as error:
                self.budget_status.value = (
                    f'<span style="color:#b00020">&#9888; {html.escape(str(error))}</span>'
                )
            except Exception as error:  # a thread's failure must show, not vanish
                logger.exception("budget check failed")
                self.budget_status.value = (
                    f"budget check failed: {html.escape(type(error).__name__)}: {error}"
                )
            finally:
                self.budget_check.disabled = False

        if not background:
            work()
            return None
        thread = threading.Thread(target=work, name="nas-budget-check", daemon=True)
        thread.start()
        return thread

    def _data_tab(self) -> list[Field | W.Widget]:
        datasets = self.datasets
        refresh = W.Button(
            icon="refresh", tooltip="look for datasets in the notebook again", layout=W.Layout(width="40px")
        )
        refresh.on_click(lambda _: datasets.refresh())
        return [
            Field(
                "dataset",
                datasets.widget,
                datasets.read,
                datasets.write,
                shown=W.HBox([datasets.widget, refresh]),
            ),
            W.HTML("<b>Fidelity</b> (training per trial)"),
            _value("fidelity.epochs", W.IntSlider, min=1, max=100, description="epochs"),
            _value(
                "fidelity.subset",
                W.FloatSlider,
                min=0.05,
                max=1.0,
                step=0.05,
                readout_format=".0%",
                description="training subset",
            ),
            _value(
                "fidelity.batch_size", W.BoundedIntText, int, min=1, max=1_000_000, description="batch size"
            ),
            _value(
                "fidelity.learning_rate",
                W.BoundedFloatText,
                min=1e-12,
                max=10.0,
                step=1e-3,
                description="learning rate",
            ),
            _value(
                "fidelity.weight_decay",
                W.BoundedFloatText,
                min=0.0,
                max=1.0,
                step=1e-4,
                description="weight decay",
            ),
            _value(
                "fidelity.width_multiplier",
                W.FloatSlider,
                min=0.25,
                max=2.0,
                step=0.05,
                description="width multiplier",
            ),
            _optional_number(
                "fidelity.resolution", "resolution", "resize inputs to this side; 0: keep", integer=True
            ),
            _value("seed", W.BoundedIntText, int, min=0, max=2**32 - 1, description="seed"),
        ]

    def _run_tab(self) -> list[Field | W.Widget]:
        return [
            _value("n_trials", W.BoundedIntText, int, min=1, max=10_000_000, description="trials"),
            _optional_number("timeout", "timeout (s)", "wall-clock limit of a run; 0: none"),
            _optional_number("trial_timeout", "trial timeout (s)", "training limit per trial; 0: none"),
            _text("storage", "storage", default_storage()),
            _text("study_name", "study name", "space-strategy-seed"),
            self.workers.box,
        ]

    def _other_fields(self) -> list[Field]:
        """Fields for settings without a widget of their own (settings added to `SearchConfig` later),
        chosen by their default's type, so that the form covers every setting."""
        shown = {*self.fields, "budget", "fidelity"}
        others = []
        for setting in dataclass_fields(SearchConfig):
            if setting.name not in shown:
                factory = setting.default_factory
                default = setting.default if factory is dataclasses.MISSING else factory()
                others.append(option_field(setting.name, setting.name, default))
        return others

    def _write_device(self, device: str) -> None:
        widget = self.fields["device"].widget
        if device not in [value for _, value in widget.options]:
            widget.options = [*widget.options, (f"{device} (not on this machine)", device)]
        widget.value = device

    # -- reading and writing ---------------------------------------------------------------------------
    def write(self, config: SearchConfig) -> None:
        """Show ``config`` in the fields."""
        self._quiet = True
        try:
            values = {f.name: getattr(config, f.name) for f in dataclass_fields(config)}
            self.fields["space"].write(config.space)
            self._space_changed(config.space)
            self.fields["strategy"].write(config.strategy)
            self._strategy_changed(config.strategy)
            for metric in METRICS:
                self.fields[f"budget.{metric}"].write(config.budget.get(metric))
            for f in dataclass_fields(Fidelity):
                self.fields[f"fidelity.{f.name}"].write(getattr(config.fidelity, f.name))
            for key, field in self.fields.items():
                if key in values and key not in ("space", "strategy"):
                    field.write(values[key])
        finally:
            self._quiet = False
        self._changed()

    def read(self) -> SearchConfig:
        """The config the fields describe, validated (`ConfigError` naming the field otherwise)."""
        values = {key: field.read() for key, field in self.fields.items()}
        budget = {m: values.pop(f"budget.{m}") for m in METRICS}
        fidelity = {f.name: values.pop(f"fidelity.{f.name}") for f in dataclass_fields(Fidelity)}
        config = SearchConfig(
            **values,
            budget={m: limit for m, limit in budget.items() if limit is not None},
            fidelity=Fidelity(**fidelity),
        )
        return config.validate()

    def validate(self) -> SearchConfig | None:
        """`read` the config and check the workers choice, showing any error under its field (or above the
        buttons); None on error."""
        self.show_error(None)
        try:
            config = self.read()
            self.workers.read()
            return config
        except ConfigError as error:
            self.show_error(error)
        except NasWorkbenchError as error:  # not about one field: a space or strategy refusing the whole
            self.message.value = f'<span style="color:#b00020">&#9888; {html.escape(str(error))}</span>'
        return None

    def show_error(self, error: ConfigError | None) -> None:
        """Show ``error`` under the field it names, and open that field's tab (None: clear all)."""
        for field in self._all_fields():
            field.show_error(None)
        self.message.value = ""
        if error is None:
            return
        owner = self._field_for(error.field)
        if owner is None:
            self.message.value = f'<span style="color:#b00020">&#9888; {html.escape(str(error))}</span>'
            return
        owner.show_error(str(error))
        self.tabs.selected_index = self._tab_of.get(owner.key, self._tab_of.get(owner.key.split(".")[0], 0))

    def _all_fields(self) -> list[Field]:
        return [
            *self.fields.values(),
            *self.space_options.fields.values(),
            *self.strategy_options.fields.values(),
            self.workers.count,
        ]

    def _field_for(self, key: str) -> Field | None:
        """The field an error about ``key`` belongs to: the most specific one whose key contains it."""
        candidates = {f.key: f for f in self._all_fields()}
        while key:
            if key in candidates:
                return candidates[key]
            key = key.rpartition(".")[0]
        return None

    def set_disabled(self, disabled: bool) -> None:
        """Freeze the fields while a search runs (its config cannot change under it)."""
        for field in self._all_fields():
            field.widget.disabled = disabled
        self.use_advice.disabled = disabled
        self.workers.set_disabled(disabled)

    # -- live feedback ---------------------------------------------------------------------------------
    def _space_changed(self, name: str) -> None:
        self.space_options.set_defaults(name, type(spaces.get(name)).default_options)
        self._changed()

    def _strategy_changed(self, name: str) -> None:
        strategy = strategies.get(name)
        self.strategy_options.set_defaults(
            name,
            {key: option.default for key, option in strategy.options.items()},
            {key: option.doc for key, option in strategy.options.items()},
        )
        self.strategy_help.value = f"<i>{html.escape(strategies.describe(name))}</i>"
        self._changed()

    def _changed(self) -> None:
        """After any edit: update the size and the advice, and show what is wrong, if anything."""
        if self._quiet:
            return
        config = self.validate()
        self.workers.explain(config)
        self._update_size()
        self._update_advice(config)

    def _update_size(self) -> None:
        try:
            space = spaces.get(self.fields["space"].read(), **self.space_options.read())
            self.space_size.value = f"<b>{space.size():,}</b> architectures"
        except NasWorkbenchError as error:  # shown under its option by validate()
            self.space_size.value = f"size unknown: {html.escape(str(error))}"

    def _update_advice(self, config: SearchConfig | None) -> None:
        if config is None:
            return
        try:
            space = spaces.get(config.space, **config.space_options)
            advice = advise(space, config.objectives, config.budget, config.n_trials, config.timeout)
            dataclasses.replace(config, strategy=advice.strategy, strategy_options={}).validate()
        except NasWorkbenchError:  # no advice, or one these settings refuse: offer nothing
            logger.debug("no usable advice for %s", config, exc_info=True)
            self.advice.value, self.use_advice.layout.display = "", "none"
            return
        self._advised = advice.strategy
        same = advice.strategy == config.strategy
        verdict = "the advisor agrees" if same else f"the advisor suggests <b>{advice.strategy}</b>"
        self.advice.value = f"&#128161; {verdict}: {html.escape(advice.reason)}"
        self.use_advice.description = f"Use {advice.strategy}"
        self.use_advice.layout.display = "none" if same else ""

    def _take_advice(self) -> None:
        if self._advised is not None:
            self.fields["strategy"].write(self._advised)
