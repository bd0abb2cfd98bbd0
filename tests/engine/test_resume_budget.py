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
    # a process continuing the study from its record (a worker, Workbench.load, `run --study`) searches
    # under the limit as last given, not the first search's (which it would write back to the study)
    continued = read_record(resumed.study).search_config(config.storage, "resume-budget")
    assert continued.budget == {"params": 5e5} and continued.n_trials == 2


@pytest.mark.parametrize(
    ("resumed_budget", "spec"),
    [
        ({"latency_ms": "p50", "params": 1e6}, "p50"),  # another limit changed: latency's kept as resolved
        ({"latency_ms": "p30"}, "p30"),  # the relative form changed: resolved anew and recorded so
    ],
)
def test_a_resume_that_changes_a_limit_keeps_the_relative_limits_resolution(
    storage, tiny_task, resumed_budget, spec
):
    """The widget's habit: Stop, edit a limit, Resume. Checking the changed limit resolved the budget
    a second time from the already absolute config, so the record lost every relative limit's form
    ("budget 0.569 ms" on the plots instead of "0.569 ms (p30 on this CPU)")."""
    config = cheap_config(storage, "resume-relative", threads=1, n_trials=1, budget={"latency_ms": "p50"})
    nw.search(config, evaluate=score, data=tiny_task).run()
    resumed = nw.search(config.replace(n_trials=2, budget=resumed_budget), evaluate=score, data=tiny_task)
    assert resumed.resolved_budget["latency_ms"].spec == spec
    record = read_record(resumed.study)
    assert record.budget_resolved["latency_ms"]["spec"] == spec
    assert record.budget["latency_ms"] == record.budget_resolved["latency_ms"]["value"]
