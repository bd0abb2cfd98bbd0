"""The sampler of a DNAS study: it answers nothing, because the supernet picks every architecture.

A differentiable search derives its architectures from the supernet's weights and enqueues each into the
study (``Study.enqueue_trial``) before asking for the trial, so Optuna answers every question from the
enqueued values and never consults the sampler. A question that reaches it means the study is being
driven by something else (the sampler was used outside `nas_workbench.search`), and it says so.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial

from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.strategies._history import IndependentSampler

__all__ = ["SupernetSampler"]


class SupernetSampler(IndependentSampler):
    """The sampler a "dnas" study is created with; every one of its trials is enqueued by the search."""

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        raise NasWorkbenchError(
            f"trial {trial.number} asked the 'dnas' sampler for {param_name!r}: a differentiable search "
            "trains a supernet and enqueues every architecture itself, so its sampler cannot sample. Run it "
            "with nas_workbench.search(SearchConfig(strategy='dnas', ...)), or pick a sampling strategy."
        )
