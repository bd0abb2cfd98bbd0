"""The figures of a study: which plots a search gets, large studies sampled without losing the front."""

from __future__ import annotations

import dataclasses
import math
import random

from bokeh.models import ColumnDataSource, HoverTool, NoOverlap, Span

from nas_workbench.engine.records import TrialResult, pareto_front
from nas_workbench.profiling.device_budget import measured_verdict
from nas_workbench.viz import TrialTable, make_sources, study_figures, tradeoff_metrics
from nas_workbench.viz._state import UNSCORED_AT


def result(
    number: int, status: str, accuracy: float, latency: float, finished: float | None = None
) -> TrialResult:
    metrics = {
        "accuracy": {"value": accuracy, "unit": "fraction", "method": "measured", "source": "trainer"},
        "latency_ms": {"value": latency, "unit": "ms", "method": "measured", "source": "cpu timer"},
        "peak_memory_mb": {"value": latency * 3, "unit": "MB", "method": "measured", "source": "allocator"},
    }
    values = (accuracy, latency) if status in ("ok", "infeasible") else None
    return TrialResult(
        number,
        status,
        {},
        f"a{number}",
        f"arch {number}",
        metrics,
        values,
        status != "infeasible",
        None,
        1.0,
        finished if finished is not None else 1000.0 + number,
        {},
        "w",
    )


def test_a_supernet_estimate_leaves_the_front_once_an_architecture_was_trained():
    from dataclasses import replace

    def estimated(r: TrialResult) -> TrialResult:
        accuracy = {**r.metrics["accuracy"], "method": "estimated", "source": "supernet (weight sharing)"}
        return replace(r, metrics={**r.metrics, "accuracy": accuracy})

    directions = ["maximize", "minimize"]
    epochs = [estimated(result(0, "ok", 0.30, 0.5)), estimated(result(1, "ok", 0.35, 0.8))]
    assert [r.number for r in pareto_front(epochs, directions)] == [1, 0]  # nothing trained yet: estimates
    retrained = result(2, "ok", 0.97, 0.9)  # slower than both epochs' architectures, far more accurate
    assert [r.number for r in pareto_front([*epochs, retrained], directions)] == [2]


def test_tradeoff_metrics_put_objectives_and_budget_first():
    assert tradeoff_metrics(["accuracy", "latency_ms"], {}, ["params", "latency_ms", "peak_memory_mb"]) == [
        "latency_ms",
        "peak_memory_mb",
    ]
    assert tradeoff_metrics(["accuracy"], {"params": 1e4}, ["params", "energy_mj"]) == ["params", "energy_mj"]
    assert tradeoff_metrics(["accuracy"], {}, ["params", "flops"]) == ["params"]  # nothing else: the first


def test_study_figures_share_sources_and_draw_the_budget():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend(
        [result(0, "ok", 0.8, 1.0), result(1, "infeasible", 0.9, 3.0), result(2, "pruned", 0.5, 0.5)]
    )
    trials, front = make_sources(table)
    figures = study_figures(
        trials, front, table.objectives, {"latency_ms": 2.0}, ["latency_ms", "peak_memory_mb"]
    )
    names = [f.name for f in figures]
    assert names == [
        "nas_tradeoff_latency_ms",
        "nas_tradeoff_peak_memory_mb",
        "nas_history_number",
        "nas_history_finished",
    ]
    for fig in figures:
        plotted = [
            r
            for r in fig.renderers
            if r.name not in ("nas_budget_anchor", "nas_budget_legend")
            and not r.data_source.name.startswith("nas_edge")
        ]
        assert all(r.data_source in (trials, front) for r in plotted)
    spans = [s for s in figures[0].center if isinstance(s, Span)]
    assert [s.location for s in spans] == [2.0]
    # named, with its unit, in the legend beside the plot (a label at the line was clipped at the edge)
    assert "budget 2 ms" in _legend_labels(figures[0])
    (legend_line,) = [r for r in figures[0].renderers if r.name == "nas_budget_legend"]
    assert len(legend_line.data_source.data["x"]) == 1  # BokehJS draws no swatch for an empty renderer
    by_time = figures[3].xaxis[0]
    assert by_time.__class__.__name__ == "DatetimeAxis"
    # a short search is labelled with times of day, never the year alone; overlapping labels are left out
    assert by_time.formatter.seconds == by_time.formatter.minsec == "%H:%M:%S"
    assert by_time.formatter.milliseconds == "%H:%M:%S.%3N"  # ticks 0.5 s apart: never two alike
    assert isinstance(by_time.major_label_policy, NoOverlap) and by_time.ticker.desired_num_ticks >= 5
    assert {m for m in trials.data["marker"]} == {"circle", "x", "triangle"}  # statuses look different


def test_best_so_far_follows_finishing_order():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    # trial 1 finished before trial 0 (two workers): the curve follows time
    table.extend([result(0, "ok", 0.9, 1.0, finished=20.0), result(1, "ok", 0.7, 1.0, finished=10.0)])
    assert table.columns["number"] == [1, 0]
    assert table.columns["best_so_far"] == [0.7, 0.9]


def test_sampling_keeps_the_front_and_the_best_so_far_curve():
    rng = random.Random(0)
    results = [
        result(i, rng.choice(["ok", "ok", "infeasible", "pruned"]), rng.random(), rng.random() * 3)
        for i in range(5000)
    ]
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend(results)
    sample = table.sample(500)
    kept = set(sample["number"])
    assert len(kept) <= 600
    assert {r.number for r in pareto_front(results, ["maximize", "minimize"])} <= kept
    assert {table.results[i].number for i in table.improvements} <= kept
    curve = [b for b in sample["best_so_far"] if not math.isnan(b)]
    assert curve == sorted(curve) and curve[-1] == max(
        r.value("accuracy") for r in results if r.status == "ok"
    )
    assert sample["number"] == sorted(sample["number"], key=lambda n: table.rows_by_number[n])  # in order
    trials, front = make_sources(table, max_points=500)
    assert len(trials.data["number"]) == len(sample["number"]) and isinstance(front, ColumnDataSource)
    assert len(front.data["number"]) == len(pareto_front(results, ["maximize", "minimize"]))  # never sampled


def test_the_front_is_drawn_as_the_staircase_bounding_the_dominated_region():
    from bokeh.models import Step

    def step_mode(objectives):
        table = TrialTable(objectives, ["maximize" if o == "accuracy" else "minimize" for o in objectives])
        table.extend([result(0, "ok", 0.9, 2.0), result(1, "ok", 0.7, 1.0)])
        trials, front = make_sources(table)
        (fig, *_) = study_figures(trials, front, objectives, {}, ["latency_ms"])
        (step,) = [r.glyph for r in fig.renderers if isinstance(r.glyph, Step)]
        xs = front.data["latency_ms"]
        return step.mode, xs

    # accuracy first: rows run from the most accurate (slowest) down; the line steps before each point
    assert step_mode(["accuracy", "latency_ms"]) == ("before", [2.0, 1.0])
    assert step_mode(["latency_ms", "accuracy"]) == ("after", [1.0, 2.0])


def test_the_budget_line_stays_in_view_when_every_trial_is_far_below_it():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.8, 0.1), result(1, "ok", 0.9, 0.2)])
    trials, front = make_sources(table)
    fig = study_figures(trials, front, table.objectives, {"latency_ms": 5.0}, ["latency_ms"])[0]
    (anchor,) = [r for r in fig.renderers if r.name == "nas_budget_anchor"]
    assert anchor.data_source.data["x"] == [5.0] and anchor.glyph.fill_alpha == 0
    assert not fig.x_range.renderers  # unset: the x range spans every renderer, the anchor too
    assert anchor not in fig.y_range.renderers and len(fig.y_range.renderers) >= 2  # y: the trials only


def _legend_labels(fig) -> list[str | None]:
    return [getattr(item.label, "value", None) for item in fig.legend[0].items]  # None: a field's entries


def test_a_trained_trial_judged_over_budget_on_the_device_is_drawn_apart_and_leaves_the_front():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    budget = measured_verdict(9.0, 8.5, "pixel3")
    verdict = {
        "latency_ms": {"value": 9.0, "unit": "ms", "method": "measured", "source": "measured on pixel3",
                       "detail": {"budget": budget}},
        "feasible": False,
    }  # fmt: skip
    best = result(0, "ok", 0.9, 8.0).rejudged(verdict)  # the search's choice, measured over on the device
    table.extend([best, result(1, "ok", 0.8, 7.0)])
    assert table.columns["legend"] == ["trained, judged over budget", "trained"]
    assert table.columns["marker"][0] != table.columns["marker"][1]
    assert table.columns["color"][0] != table.columns["color"][1]
    assert table.columns["latency_ms_label"][0] == "9 ms (measured, measured on pixel3)"
    assert table.front()["number"] == [1] and math.isnan(table.columns["best_so_far"][0])


def test_a_trials_tooltip_names_its_outcome_as_the_legend_does():
    """A trained trial the device measured over budget hovered as "5 (ok)", Optuna's status, beside its
    purple diamond "trained, judged over budget" (seen in Chromium)."""
    verdict = {
        "latency_ms": {"value": 9.0, "unit": "ms", "method": "measured", "source": "measured on pixel3",
                       "detail": {"budget": measured_verdict(9.0, 8.5, "pixel3")}},
        "feasible": False,
    }  # fmt: skip
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.9, 8.0).rejudged(verdict), result(1, "ok", 0.8, 7.0)])
    trials, front = make_sources(table)
    figures = study_figures(trials, front, ["accuracy", "latency_ms"], {"latency_ms": 8.5}, ["latency_ms"])
    hovers = [tool for fig in figures for tool in fig.tools if isinstance(tool, HoverTool)]
    rows = [dict(tool.tooltips)["trial"] for tool in hovers if "trial" in dict(tool.tooltips)]
    assert rows and set(rows) == {"@number (@legend)"}
    assert trials.data["legend"][0] == "trained, judged over budget"


def test_a_latency_measured_on_the_device_is_the_objective_the_front_is_sorted_by():
    """The verdict changed a trial's latency metric but not its objective value: the front of an
    accuracy-latency search still placed a finalist at the latency predicted before it was measured
    (the side panel showed "latency_ms 9.54" beside "9.27 ms, measured on myboard")."""
    verdict = {
        "latency_ms": {"value": 6.5, "unit": "ms", "method": "measured", "source": "measured on pixel3",
                       "detail": {"budget": measured_verdict(6.5, 8.5, "pixel3")}},
        "feasible": True,
    }  # fmt: skip
    objectives, directions = ["accuracy", "latency_ms"], ["maximize", "minimize"]
    measured = result(0, "ok", 0.9, 8.0).rejudged(verdict, objectives)  # predicted 8 ms, measured 6.5
    assert measured.values == (0.9, 6.5) and result(0, "ok", 0.9, 8.0).rejudged(verdict).values == (0.9, 8.0)
    assert [r.number for r in pareto_front([measured, result(1, "ok", 0.8, 7.0)], directions)] == [0]


def test_trials_without_a_score_are_drawn_in_a_band_never_at_a_made_up_accuracy():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    latency = {"latency_ms": {"value": 1.5, "unit": "ms", "method": "measured", "source": "timer"}}
    failed = TrialResult(3, "failed", {}, "a3", "arch 3", latency, None, True, "boom", 1.0, 1003.0, {}, "w")
    over = TrialResult(4, "infeasible", {}, "a4", "arch 4", latency, (0.0, 1.5), False,
                       "over budget: latency_ms 1.5 > 1 ms", 1.0, 1004.0, {}, "w")  # fmt: skip
    table.extend([result(0, "ok", 0.8, 1.0), failed, over])
    assert all(math.isnan(a) for a in table.columns["accuracy"][1:])  # the data stays honest: no accuracy
    assert table.columns["unscored_at"][1:] == [UNSCORED_AT] * 2 and math.isnan(
        table.columns["unscored_at"][0]
    )
    assert table.columns["accuracy_label"][2] == "none (over budget: not trained)"
    assert table.columns["legend"] == ["trained", "failed", "over budget, not trained"]
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {"latency_ms": 1.0}, ["latency_ms"])
    for fig in (figures[0], figures[2]):  # accuracy vs latency, history
        (band,) = [r for r in fig.renderers if r.name == "nas_unscored"]
        assert band.glyph.y == "unscored_at" and band.y_range_name in fig.extra_y_ranges
        assert band not in fig.y_range.renderers  # the band never stretches the accuracy axis


def test_the_lowest_trained_trial_sits_clear_of_the_band_and_its_label():
    """Tutorial 01's rendered workbench drew its least accurate trained trial on the band's label, where it
    read as a trial without a score: the accuracy axis leaves room below its lowest score."""
    from nas_workbench.viz.band import _BAND_END, _BAND_LABEL_AT, _BAND_TOP, BAND

    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.93, 1.0), result(1, "ok", 0.98, 0.8)])
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {"latency_ms": 1.0}, ["latency_ms"])
    for fig in (figures[0], figures[2]):  # accuracy vs latency, history: the plots with the band
        assert BAND in fig.extra_y_ranges and fig.extra_y_ranges[BAND].end == _BAND_END
        padding = fig.y_range.range_padding  # DataRange1d: half of it below the lowest score
        lowest = (padding / 2) / (1 + padding)  # the lowest score's height, a fraction of the frame's
        # the frame: the figure less its title, x axis and legend below, in pixels (195 px in JupyterLab
        # in Chromium, the workbench's 2x2 grid at 1400 px, 2026-12-05)
        frame = fig.height - 145
        label_top = _BAND_LABEL_AT / _BAND_END + 12 / frame  # the label's baseline plus one 8pt line
        band_top = _BAND_TOP / _BAND_END
        assert label_top < band_top, (label_top, band_top)  # the label inside the shaded band
        assert lowest - 5 / frame > band_top, (lowest, band_top)  # a marker (size 9) clears the band


def test_one_accuracy_is_drawn_on_an_axis_of_accuracies():
    """While every score is the same (the first trial), Bokeh spans the axis by its default_span, 2: an
    accuracy of 0.033 was drawn from -1 to 1, ticked at -0.5; the accuracy axis spans 0.1 around it."""
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.0333, 1.0), result(1, "ok", 0.0333, 0.8)])
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {}, ["latency_ms"])
    assert [f.name for f in figures] == [
        "nas_tradeoff_latency_ms",
        "nas_history_number",
        "nas_history_finished",
    ]
    assert all(fig.y_range.default_span == 0.1 for fig in figures)


def test_the_budget_line_names_a_relative_limit():
    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    table.extend([result(0, "ok", 0.8, 1.0)])
    trials, front = make_sources(table)
    fig = study_figures(trials, front, table.objectives, {"latency_ms": 0.4213}, ["latency_ms"],
                        {"latency_ms": "p30 on this CPU"})[0]  # fmt: skip
    assert "budget 0.421 ms (p30 on this CPU)" in _legend_labels(fig)
    unresolved = study_figures(trials, front, table.objectives, {"latency_ms": "p30"}, ["latency_ms"])[0]
    assert not [s for s in unresolved.center if isinstance(s, Span)]  # no line before the limit is known


def test_an_older_studys_placeholder_accuracy_of_an_untrained_trial_is_dropped(storage):
    import optuna

    from nas_workbench.engine.records import trial_results

    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    placeholder = {
        "value": 0.0,
        "unit": "fraction",
        "method": "measured",
        "source": "trainer (validation split)",
    }
    latency = {"value": 2.0, "unit": "ms", "method": "measured", "source": "cpu timer"}
    for status, accuracy in (("infeasible", placeholder), ("ok", {**placeholder, "value": 0.9})):
        trial = study.ask()
        trial.set_user_attr("status", status)
        trial.set_user_attr("metrics", {"accuracy": accuracy, "latency_ms": latency})
        study.tell(trial, [accuracy["value"], 2.0])
    over, ok = trial_results(study)
    assert over.value("accuracy") is None and over.value("latency_ms") == 2.0  # as an older engine stored it
    assert ok.value("accuracy") == 0.9


def _band_labels(figures) -> list[bool]:
    """Whether each figure shows its band's label and shade (both, or neither: else an AssertionError)."""
    shown = []
    for fig in figures:
        label, shade = (
            [item.visible for item in fig.center if item.name == name]
            for name in ("nas_unscored_label", "nas_unscored_shade")
        )
        assert label == shade and len(label) == 1, (label, shade)
        shown += label
    return shown


def test_the_band_label_shows_only_while_a_trial_sits_in_the_band():
    """An empty workbench (before Start) said "no accuracy: over budget or failed" under every accuracy
    plot, as if something had failed (seen in JupyterLab in Chromium)."""
    from nas_workbench.viz.figures import show_band_labels

    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {"latency_ms": 1.0}, ["latency_ms"])
    assert _band_labels(figures) == [False, False, False]  # accuracy vs latency, vs memory, history
    table.extend([result(0, "ok", 0.8, 0.5)])
    trials.data = table.sample(10)
    show_band_labels(figures, trials)
    assert not any(_band_labels(figures))  # every trial has a score: no band to explain
    over = result(1, "infeasible", 0.0, 2.0)
    table.extend([dataclasses.replace(over, metrics={"latency_ms": over.metrics["latency_ms"]})])
    trials.data = table.sample(10)
    show_band_labels(figures, trials)
    assert all(_band_labels(figures))


def _shown_legend(fig) -> list[str]:
    """The legend entries a figure draws: "field" for the trials' statuses, a label's text otherwise."""
    (legend,) = fig.legend
    entries = [getattr(item.label, "value", "field") for item in legend.items if item.visible]
    return entries if legend.visible else []


def test_empty_plots_wait_for_the_first_trial_and_legends_name_only_what_is_drawn():
    """Before Start the workbench's plots had legends of nothing (a "Pareto front" entry with no front,
    "best so far" with no curve, an empty box for the statuses: JupyterLab in Chromium)."""
    from nas_workbench.viz.waiting import WAITING_NOTE, show_drawn

    table = TrialTable(["accuracy", "latency_ms"], ["maximize", "minimize"])
    trials, front = make_sources(table)
    figures = study_figures(trials, front, table.objectives, {"latency_ms": 1.0}, ["latency_ms"])
    notes = [item for fig in figures for item in fig.center if item.name == WAITING_NOTE]
    assert len(notes) == len(figures) == 3 and all(note.visible for note in notes)  # latency, 2 histories
    assert [_shown_legend(fig) for fig in figures] == [["budget 1 ms"], [], []]
    over = result(0, "infeasible", 0.0, 2.0)
    table.extend([dataclasses.replace(over, metrics={"latency_ms": over.metrics["latency_ms"]})])
    trials.data, front.data = table.sample(10), table.front()
    show_drawn(figures, trials)
    assert not any(note.visible for note in notes)
    assert _shown_legend(figures[0]) == ["field", "budget 1 ms"]  # no front yet: no front entry
    table.extend([result(1, "ok", 0.8, 0.5)])
    trials.data, front.data = table.sample(10), table.front()
    show_drawn(figures, trials)
    assert _shown_legend(figures[0]) == ["field", "Pareto front", "budget 1 ms"]
    assert _shown_legend(figures[1]) == ["best so far"]


def test_the_history_ticks_whole_trial_numbers():
    from nas_workbench.viz.figures import history_figure

    trials, _ = make_sources(TrialTable(["accuracy"], ["maximize"]))
    (ticker,) = [axis.ticker for axis in history_figure(trials).xaxis]
    assert ticker.min_interval == 1  # a short search's axis read 0, 0.5, 1, 1.5, 2
