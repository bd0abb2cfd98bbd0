"""The figures of a proxy-guided search: what its sampler records on each trial, read back as columns
(pool, prior against the trained objective, Spearman as trials arrive, trust), and drawn."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import optuna
import pytest
from bokeh.embed import file_html
from bokeh.resources import INLINE
from scipy.stats import rankdata, spearmanr

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.viz import ProxyHistory, proxy_layout, proxy_study_layout
from tests.strategies.test_proxy_guided import GridSpace, accuracy, latency, noise, search


def guided(
    n_trials: int = 25,
    limit: float | None = None,
    storage: str | None = None,
    seed: int = 1,
    score_batch: int = 0,  # 0: the whole grid scored first, so each trial's recorded ranks are over one pool
) -> optuna.Study:
    """A proxy-guided search of the 256-architecture grid: one proxy that ranks like the objective, one
    that is noise."""
    space = GridSpace()
    sampler = strategies.make_sampler(
        "proxy_guided",
        seed=seed,
        space=space,
        scores=lambda s: {"informative": accuracy(s), "noise": noise(s)},
        costs=None if limit is None else lambda s: {"latency_ms": latency(s)},
        local_share=0.0,
        score_batch=score_batch,
    )
    if storage is None:
        return search(sampler, space, n_trials, limit)
    study = optuna.create_study(storage=storage, study_name="guided", direction="maximize", sampler=sampler)
    for _ in range(n_trials):
        trial = study.ask()
        study.tell(trial, accuracy(space.sample(trial)))
    return study


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    return guided()


def test_columns_hold_what_the_sampler_recorded_on_each_trial(study) -> None:
    history = ProxyHistory.from_study(study)
    assert history.estimators == ["informative", "noise"]
    assert history.trials["number"] == list(range(25)) and len(history) == 25
    for index, trial in enumerate(study.trials):
        trust = trial.system_attrs["proxy_guided:trust"]
        assert history.trials["trust_noise"][index] == trust["noise"]
        assert history.trials["score"][index] == trial.system_attrs["proxy_guided:prior"]["score"]
        assert history.trials["value"][index] == trial.value
    assert history.trials["score"][0] == 1.0  # the first proposal is the top of the prior's ranking
    assert history.pool == study.trials[-1].system_attrs["proxy_guided:pool"]
    assert "a pool of 256 candidates, 256 predicted within budget" in history.summary()
    # once the prior is settled and the ranking's next have lost by far (trials ranked as high), trials
    # with no twin of the best to train move around the best trials
    assert "prior 10, local 15; 25 trained within budget" in history.summary()


def test_spearman_as_trials_arrive_is_over_the_trials_trained_so_far(study) -> None:
    history = ProxyHistory.from_study(study)
    assert history.spearman["trained"] == list(range(1, 26))
    assert all(math.isnan(v) for v in history.spearman["prior"][:2])  # fewer than 3: no correlation
    measured = [t.system_attrs["proxy_guided:prior"]["values"] for t in study.trials]
    values = [t.value for t in study.trials]
    for k in (3, 10, 25):
        noise_rho = spearmanr([r["noise"] for r in measured[:k]], values[:k]).statistic
        among = [rankdata([r[n] for r in measured[:k]]) for n in ("informative", "noise")]  # over the k
        equal = spearmanr(np.mean(among, axis=0), values[:k]).statistic
        assert history.spearman["rho_noise"][k - 1] == pytest.approx(noise_rho)
        assert history.spearman["prior"][k - 1] == pytest.approx(equal)
    assert history.spearman["rho_informative"][-1] == pytest.approx(1.0)  # it is the objective
    # the strategy learnt from that agreement: it trusts the informative proxy, not the noise
    last = history.checkpoints()[-1]
    assert last["trained"] == 25 and last["trust_informative"] > 0.6 and abs(last["trust_noise"]) < 0.35
    assert [row["trained"] for row in history.checkpoints()] == [5, 10, 25]


def test_spearman_with_a_lazy_pool_compares_like_with_like() -> None:
    """A lazy pool ranks each proposal among the candidates scored so far (20, then 40, ...), so the ranks
    it records do not compare from one trial to the next; the Spearman rows are over the trained trials'
    own estimator values, whatever the pool was when each was proposed."""
    study = guided(n_trials=12, seed=3, score_batch=20)
    sizes = [t.system_attrs["proxy_guided:pool"]["size"] for t in study.trials]
    # ranked among pools of different sizes: a batch of 20 (and the mutations the pool climbs by), then more
    assert 20 <= sizes[0] <= 20 + 30 and sizes[-1] > 200
    history = ProxyHistory.from_study(study)
    specs = [ArchSpec.from_dict(t.user_attrs["spec"]) for t in study.trials]
    values = [t.value for t in study.trials]
    for k in (5, 12):
        truth = [accuracy(s) for s in specs[:k]], [noise(s) for s in specs[:k]]
        assert history.spearman["rho_informative"][k - 1] == pytest.approx(1.0)  # it is the objective
        noise_rho = spearmanr(truth[1], values[:k]).statistic
        assert history.spearman["rho_noise"][k - 1] == pytest.approx(noise_rho)
        equal = spearmanr(np.mean([rankdata(t) for t in truth], axis=0), values[:k]).statistic
        assert history.spearman["prior"][k - 1] == pytest.approx(equal)
    recorded = [t.system_attrs["proxy_guided:prior"]["ranks"]["informative"] for t in study.trials]
    assert spearmanr(recorded, values).statistic < 0.99  # the pool ranks would not have said 1.0


def test_read_trial_by_trial_it_equals_the_stored_study(tmp_path) -> None:
    """Live, the workbench reads the study as trials finish; a resumed kernel or the report reads it once
    from storage: both give the same columns."""
    shm = Path("/dev/shm")  # SQLite's fsyncs on a slow disk would dominate the test's time
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    url = f"sqlite:///{folder / 'guided.db'}"
    study = guided(n_trials=4, storage=url)
    live = ProxyHistory()
    assert live.update(study) and not live.update(study)  # nothing new: nothing added
    space = GridSpace()
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, accuracy(space.sample(trial)))
        assert live.update(study)
    stored = ProxyHistory.from_study(optuna.load_study(study_name="guided", storage=url))
    assert stored.trials == live.trials and stored.estimators == live.estimators
    assert all(
        a == b or (math.isnan(a) and math.isnan(b))
        for name in stored.spearman
        for a, b in zip(stored.spearman[name], live.spearman[name], strict=True)
    )
    shutil.rmtree(folder, ignore_errors=True)


def test_trials_over_budget_are_not_trained_and_not_correlated() -> None:
    study = guided(n_trials=12, limit=14.0)
    history = ProxyHistory.from_study(study)
    over = [i for i, t in enumerate(study.trials) if latency(ArchSpec.from_dict(t.user_attrs["spec"])) > 14.0]
    assert over == [0]  # the first trial tells the limit; nothing over it is proposed again
    assert math.isnan(history.trials["value"][0]) and history.spearman["number"][0] == 1
    assert history.pool["feasible"] < history.pool["size"] == 256


def test_a_minimised_objective_agrees_when_the_prior_ranks_low_values_high() -> None:
    history = ProxyHistory(maximize=False)
    study = optuna.create_study(direction="minimize")
    for value, rank in [(3.0, 0.1), (2.0, 0.5), (1.0, 0.9)]:
        trial = study.ask()
        for key, attr in [
            ("source", "prior"),
            ("trust", {"p": 1.0}),
            ("prior", {"ranks": {"p": rank}, "score": rank}),
        ]:
            study._storage.set_trial_system_attr(trial._trial_id, f"proxy_guided:{key}", attr)
        study.tell(trial, value)
    history.update(study)
    assert history.spearman["rho_p"][-1] == pytest.approx(1.0)


def test_layout_renders_standalone_and_is_none_for_other_strategies(study) -> None:
    html = file_html(proxy_layout(ProxyHistory.from_study(study), "Validation accuracy"), INLINE, "proxy")
    for name in ("nas_proxy_pool", "nas_proxy_prior", "nas_proxy_spearman", "nas_proxy_trust"):
        assert name in html
    assert "a pool of 256 candidates" in html
    other = optuna.create_study()
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert proxy_study_layout(other) is None and len(ProxyHistory.from_study(other)) == 0
    assert proxy_layout(ProxyHistory()) is not None  # nothing planned yet: still draws
