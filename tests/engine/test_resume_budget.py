"""A resume that changes a budget limit: checked like a new study's (an unmeetable limit is refused before
any trial runs), and recorded with the study."""

from __future__ import annotations

import pytest

import nas_workbench as nw
from nas_workbench.engine.study_record import read_record
from nas_workbench.exceptions import InfeasibleBudgetError
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


def test_a_changed_limit_is_checked_and_recorded_on_resume(tmp_path):
    config = cheap_config(
        f"sqlite:///{tmp_path / 's.db'}", "resume-budget", n_trials=1, budget={"params": 1e6}
    )
    nw.search(config, evaluate=score).run()
    with pytest.raises(InfeasibleBudgetError, match=r"budget\.params"):
        nw.search(config.replace(n_trials=2, budget={"params": 1.0}), evaluate=score)
    resumed = nw.search(config.replace(n_trials=2, budget={"params": 5e5}), evaluate=score).run()
    assert resumed.trials_done() == 2
    assert read_record(resumed.study).budget == {"params": 5e5}
