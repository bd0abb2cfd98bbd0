"""The widget follows a verification of its study's finalists on the target device.

``run.verify(archs, latency_ms)`` (or ``nas-workbench device verify``) judges the study's trials again
and stores the verdicts in its record (`nas_workbench.engine.device_verdicts`); the trials the widget
drew before are then out of date. It notices a verification two ways:

- in this kernel, at once: `follow_verdicts` listens to `verified_view.announce`, which ``verify`` calls
  in the thread that verified (a notebook cell);
- in another process, while the widget follows a running study: `StudyWatcher` compares the record's
  `verified_view.verification_key` at each read and calls its ``on_verified``.

Either way the thread that noticed reads the study's trials as every reader of results judges them
(`records.trial_results`) into a new `TrialTable` and posts `Rejudged`: the view redraws its plots from
it (a trained trial measured over the budget leaves the front) and says which trials the device measured
within and over the budget (`verified_view.verified_sentence`); a widget that opens a verified study
says the same at once (`_controller.read_in_background`).
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from nas_workbench.engine.records import trial_results
from nas_workbench.engine.study_record import read_record
from nas_workbench.engine.verified_view import listen, same_study, verified_sentence
from nas_workbench.ui._model import Rejudged
from nas_workbench.viz import TrialTable

__all__ = ["follow_verdicts", "rejudged"]


def rejudged(study: optuna.Study, shown: TrialTable) -> Rejudged:
    """The trials of ``study`` as the latest verification judged them, in a table like ``shown`` (its
    objectives and directions), and the sentence that says what the device measured."""
    results = trial_results(study)
    table = TrialTable(shown.objectives, shown.directions)
    table.extend(results)
    return Rejudged(table, verified_sentence(read_record(study), results))


def follow_verdicts(
    shown: Callable[[], tuple[optuna.Study, TrialTable] | None], post: Callable[[Rejudged], None]
) -> Callable[[], None]:
    """Post `rejudged` whenever a verification in this process judges the study ``shown`` gives (the
    study the widget shows and its table, or None); returns the function that stops following."""

    def verified(study: optuna.Study) -> None:
        current = shown()
        if current is not None and same_study(current[0], study):
            post(rejudged(study, current[1]))

    return listen(verified)
