"""The configuration form: a field for every `SearchConfig` setting, in the config's five tabs.

The fields are generated from the settings' own metadata (`nas_workbench.ui._schema`); only settings that
list something (spaces, strategies, devices, the notebook's data) or explain it have widgets of their
own here. After an edit, only the setting that changed is validated (`validate_setting`): a keystroke
in a timeout builds nothing, one in the pruner's options builds only the pruner. Start validates all
(`ConfigForm.validate`). Around the fields the form shows what helps to choose: the space's size as its
options change, what the strategy does and which one the advisor recommends. The Run tab also holds
where the trials run (`WorkersChoice`), a run option that is not part of the config.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W

from nas_workbench import spaces, strategies
from nas_workbench.config import (
    AUTO_STRATEGY,
    FORM_TABS,
    OBJECTIVE_METRICS,
    Fidelity,
    SearchConfig,
    default_storage,
)
from nas_workbench.config_validation import validate_setting
from nas_workbench.engine.budget import DEFAULT_METRICS
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.metrics import METRICS, metric_label
from nas_workbench.strategies.advisor import advise
from nas_workbench.ui._budget import BUDGET_RANGES, BudgetFields
from nas_workbench.ui._devices import available_devices, target_device_field
from nas_workbench.ui._fields import DESCRIPTION_WIDTH, Field, OptionsEditor, labelled, read_fields
from nas_workbench.ui._schema import Row, form_rows, plain_field, tags_field, value_field
from nas_workbench.ui._workers import WorkersChoice
from nas_workbench.ui.data import DatasetChoices

__all__ = ["BUDGET_RANGES", "ConfigForm", "available_devices"]

logger = logging.getLogger("nas_workbench")

_STYLE = {"description_width": DESCRIPTION_WIDTH}

_PRUNERS = ["none", "median", "successive_halving", "hyperband"]

#: Settings the space's size depends on, and those the advisor's recommendation depends on.
_SIZE_KEYS = frozenset({"space", "space_options"})
_ADVICE_KEYS = frozenset(
    {"space", "space_options", "objectives", "budget", "n_trials", "timeout", "strategy"}
)

#: Placeholders of text settings whose empty box means "derived".
_PLACEHOLDERS = {"storage": default_storage(), "study_name": "space-strategy-seed"}

#: How the objectives and recorded metrics show: named with their units, as the budget and the plots name
#: them ("Latency (ms)"), not by their keys ("latency_ms").
_METRIC_NAMES = {metric: metric_label(metric) for metric in OBJECTIVE_METRICS}

Items = list[Field | W.Widget]


def _note() -> W.HTML:
    """A line of help, aligned with the fields' inputs."""
    return W.HTML(layout=W.Layout(margin=f"0 0 4px {DESCRIPTION_WIDTH}"))


def _profiling_field(row: Row) -> Field:
    """Measured or proxy profiling, the buttons after their label like every field's input (their own
    description put the label on a line of its own above them)."""
    buttons = W.ToggleButtons(
        options=[("measured", "measured"), ("proxy (estimated)", "proxy")],
        tooltips=[
            "run each network on the device",
            "estimate from a calibrated lookup table, without running",
        ],
        style={"button_width": "auto"},
    )
    return Field(
        row.key,
        buttons,
        lambda: buttons.value,
        lambda v: setattr(buttons, "value", v),
        shown=labelled(row.label, row.help or row.label, buttons),
    )


def _error_html(error: Exception) -> str:
    return f'<span style="color:#b00020">&#9888; {html.escape(str(error))}</span>'


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
        self.space_options = OptionsEditor("space_options", lambda: self._changed("space_options"))
        self.strategy_options = OptionsEditor("strategy_options", lambda: self._changed("strategy_options"))
        self.message = W.HTML()
        self.space_size, self.strategy_help, self.advice = _note(), _note(), _note()
        self.use_advice = W.Button(description="Use advice", layout=W.Layout(display="none"))
        self.use_advice.on_click(lambda _: self._take_advice())
        self._advised: str | None = None
        self.workers = WorkersChoice(lambda: self._changed("workers"))
        self.budget = BudgetFields(self._changed)
        self.budget.button.on_click(lambda _: self.check_budget())
        #: The budget check's answer under each limit.
        self.budget_checks = self.budget.answers
        own: dict[str, Callable[[Row], Items]] = {
            "space": self._space_items,
            "space_options": lambda row: [self._options_field(row, self.space_options)],
            "strategy": self._strategy_items,
            "strategy_options": lambda row: [self._options_field(row, self.strategy_options)],
            "pruner": lambda row: [value_field(row, W.Dropdown, options=_PRUNERS)],
            "objectives": lambda row: [tags_field(row, list(OBJECTIVE_METRICS), names=_METRIC_NAMES)],
            "budget": self._budget_items,
            "device": lambda row: [self._device_field(row)],
            "target_device": lambda row: [target_device_field(row)],
            "profiling_method": lambda row: [_profiling_field(row)],
            "profile_metrics": lambda row: [
                tags_field(row, list(METRICS), empty=list(DEFAULT_METRICS), names=_METRIC_NAMES)
            ],
        }
        tabs = []
        for index, rows in enumerate(form_rows().values()):
            items: Items = []
            for row in rows:
                items += (
                    own[row.key](row)
                    if row.key in own
                    else [plain_field(row, _PLACEHOLDERS.get(row.key, ""))]
                )
            tabs.append(self._tab(index, items))
        tabs[-1].children = (*tabs[-1].children, self.workers.box)
        data_tab = tabs[FORM_TABS.index("Data & training")]
        data_tab.children = (self._data_chooser(), *data_tab.children)
        self._tab_of[self.workers.count.key] = len(tabs) - 1
        self.tabs = W.Tab(children=tabs, titles=FORM_TABS)
        self.widget = W.VBox([self.tabs])
        self.write(config or SearchConfig())

    # -- building --------------------------------------------------------------------------------------
    def _tab(self, index: int, items: Items) -> W.VBox:
        """A tab of fields (registered, watched for changes) and plain widgets, in order."""
        children = []
        for item in items:
            if isinstance(item, Field):
                self.fields[item.key] = item
                self._tab_of[item.key] = index
                if not item.key.startswith(
                    ("budget.", "space_options", "strategy_options")
                ):  # watch themselves
                    item.widget.observe(lambda _, key=item.key: self._changed(key), names="value")
                children.append(item.box)
            else:
                children.append(item)
        return W.VBox(children)

    def _space_items(self, row: Row) -> Items:
        space = value_field(row, W.Dropdown, options=spaces.list())
        space.widget.observe(lambda change: self._space_changed(change["new"]), names="value")
        return [space, self.space_size]

    def _strategy_items(self, row: Row) -> Items:
        strategy = value_field(row, W.Dropdown, options=[AUTO_STRATEGY, *strategies.list()])
        strategy.widget.observe(lambda change: self._strategy_changed(change["new"]), names="value")
        return [strategy, self.strategy_help, W.HBox([self.advice, self.use_advice])]

    @staticmethod
    def _options_field(row: Row, editor: OptionsEditor) -> Field:
        return Field(row.key, W.Label(), editor.read, editor.write, shown=editor.box)

    def _budget_items(self, row: Row) -> Items:
        header = W.HTML("<b>Hardware budget</b> (limits per network; over budget = infeasible, not trained)")
        return [header, *self.budget.fields.values(), self.budget.row]

    def _device_field(self, row: Row) -> Field:
        box = W.Dropdown(options=available_devices(), description=row.label, tooltip=row.help, style=_STYLE)

        def write(device: str) -> None:
            if device not in [value for _, value in box.options]:
                box.options = [*box.options, (f"{device} (not on this machine)", device)]
            box.value = device

        return Field(row.key, box, lambda: box.value, write)

    def _data_chooser(self) -> W.HBox:
        """The data to search on: not a setting of the config but the run's ``data`` argument."""
        datasets = self.datasets
        refresh = W.Button(
            icon="refresh", tooltip="look for datasets in the notebook again", layout=W.Layout(width="40px")
        )
        refresh.on_click(lambda _: datasets.refresh())
        return W.HBox([datasets.widget, refresh])

    def check_budget(self, background: bool = True) -> threading.Thread | None:
        """Show under the latency and memory limits what they mean on this device (as the Check budget
        button does; see `BudgetFields.check`)."""
        return self.budget.check(self.validate(), self.datasets.read(), background)

    # -- reading and writing ---------------------------------------------------------------------------
    def write(self, config: SearchConfig) -> None:
        """Show ``config`` in the fields."""
        self._quiet = True
        try:
            self.fields["space"].write(config.space)
            self._space_changed(config.space)
            self.fields["strategy"].write(config.strategy)
            self._strategy_changed(config.strategy)
            self.budget.write(config.budget)
            values = {
                f"fidelity.{f.name}": getattr(config.fidelity, f.name) for f in dataclasses.fields(Fidelity)
            }
            values.update({f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
            for key, field in self.fields.items():
                if key in values and key not in ("space", "strategy"):
                    field.write(values[key])
        finally:
            self._quiet = False
        checked = self.validate()
        self.workers.explain(checked)
        self._update_size()
        self._update_advice(checked)

    def _values(self) -> SearchConfig:
        """The config the fields describe, not validated (`ConfigError` for input a field cannot read)."""
        readers = {
            key: field.read
            for key, field in self.fields.items()
            if key != "budget" and ("." not in key or key.startswith("fidelity."))
        }
        values = read_fields({**readers, "budget": self.budget.read})  # every field's error at once
        fidelity = {key[9:]: values.pop(key) for key in list(values) if key.startswith("fidelity.")}
        return SearchConfig(**values, fidelity=Fidelity(**fidelity))

    def read(self) -> SearchConfig:
        """The config the fields describe, validated (`ConfigError` naming the field otherwise)."""
        return self._values().validate()

    def validate(self) -> SearchConfig | None:
        """`read` the config and check the workers choice, showing every error under its field (or above
        the buttons); None on error."""
        self.show_error(None)
        try:
            config = self.read()
            self.workers.read()
            return config
        except ConfigError as error:
            self.show_error(error)
        except NasWorkbenchError as error:  # not about one field: a space or strategy refusing the whole
            self.message.value = _error_html(error)
        return None

    def show_error(self, error: ConfigError | None) -> None:
        """Show ``error`` (each of several) under the field it names, and open that field's tab (None:
        clear all)."""
        for field in self._all_fields():
            field.show_error(None)
        self.message.value = ""
        if error is not None:
            self._show_errors(getattr(error, "errors", [error]))

    def _show_errors(self, errors: list[ConfigError]) -> None:
        for index, error in enumerate(errors):
            owner = self._field_for(error.field)
            if owner is None:
                self.message.value = _error_html(error)
                continue
            owner.show_error(str(error))
            if index == 0:
                key = owner.key
                self.tabs.selected_index = self._tab_of.get(key, self._tab_of.get(key.split(".")[0], 0))

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
            field.set_disabled(disabled)
        self.use_advice.disabled = disabled
        self.workers.set_disabled(disabled)
        self.datasets.widget.disabled = disabled

    # -- live feedback ---------------------------------------------------------------------------------
    def _space_changed(self, name: str) -> None:
        self.space_options.set_defaults(name, type(spaces.get(name)).default_options)

    def _strategy_changed(self, name: str) -> None:
        if name == AUTO_STRATEGY:  # no options of its own; the advice below says what it runs
            self.strategy_options.set_defaults(name, {}, {})
            self.strategy_help.value = "<i>auto: the workbench picks the strategy for these settings.</i>"
            return
        strategy = strategies.get(name)
        self.strategy_options.set_defaults(
            name,
            {key: option.default for key, option in strategy.options.items()},
            {key: option.doc for key, option in strategy.options.items()},
        )
        self.strategy_help.value = f"<i>{html.escape(strategies.describe(name))}</i>"

    def _changed(self, key: str) -> None:
        """After an edit of setting ``key``: validate it alone and show what is wrong with it; update the
        space's size and the advice when they depend on it."""
        if self._quiet:
            return
        root = key.split(".")[0]
        for field in self._all_fields():  # the edited setting's old errors (its options' too)
            if field.key == key or field.key.startswith(f"{root}."):
                field.show_error(None)
        self.message.value = ""
        config = None
        try:
            config = self._values()
            if key == "workers":
                self.workers.read()
            else:
                validate_setting(config, key)
        except ConfigError as error:
            errors = getattr(error, "errors", [error])
            mine = [e for e in errors if e.field.split(".")[0] in (root, "workers")]
            self._show_errors(mine)
            config = None if mine else config
        except NasWorkbenchError as error:  # not about one field: a space refusing the whole config
            self.message.value = _error_html(error)
            config = None
        self.workers.explain(config)
        if root in _SIZE_KEYS:
            self._update_size()
        if root in _ADVICE_KEYS:
            self._update_advice(config)

    def _update_size(self) -> None:
        try:
            space = spaces.get(self.fields["space"].read(), **self.space_options.read())
            self.space_size.value = f"<b>{space.size():,}</b> architectures"
        except NasWorkbenchError as error:  # shown under its option by the validation
            self.space_size.value = f"size unknown: {html.escape(str(error))}"

    def _update_advice(self, config: SearchConfig | None) -> None:
        if config is None:
            return
        try:
            space = spaces.get(config.space, **config.space_options)
            advice = advise(
                space, config.objectives, config.budget, config.n_trials, config.timeout, config.target_device
            )
            advised = dataclasses.replace(config, strategy=advice.strategy, strategy_options={})
            validate_setting(advised, "strategy")  # builds the space and that sampler, no more
        except NasWorkbenchError:  # no advice, or one these settings refuse: offer nothing
            logger.debug("no usable advice for %s", config, exc_info=True)
            self.advice.value, self.use_advice.layout.display = "", "none"
            return
        self._advised = advice.strategy
        same = advice.strategy in (config.strategy, strategies.resolved_strategy(config))
        auto = config.strategy == AUTO_STRATEGY
        verdict = "auto runs" if auto else "the advisor agrees with" if same else "the advisor suggests"
        # plain words, the evidence behind them (benchmarks, their terms) in the tooltip; words, not an
        # emoji: Chromium on a Linux without an emoji font drew the light bulb as a box
        self.advice.value = (
            f'<span title="{html.escape(advice.reason)}"><b>Advice</b>: {verdict} <b>{advice.strategy}</b> '
            f"because {html.escape(advice.why)}.</span>"
        )
        self.use_advice.description = f"Use {advice.strategy}"
        self.use_advice.layout.display = "none" if same else ""

    def _take_advice(self) -> None:
        if self._advised is not None:
            self.fields["strategy"].write(self._advised)
