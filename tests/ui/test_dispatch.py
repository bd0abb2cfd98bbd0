"""Handing updates from worker threads to the loop, and following a study another process runs."""

from __future__ import annotations

import asyncio
import threading

import optuna

from nas_workbench.engine.records import TrialResult
from nas_workbench.ui._dispatch import Coalescer
from nas_workbench.ui._watch import StudyWatcher


def test_items_from_another_thread_arrive_in_order_in_few_batches():
    batches: list[list[int]] = []
    threads: set[int] = set()

    async def main():
        loop = asyncio.get_running_loop()

        def apply(batch):
            threads.add(threading.get_ident())
            batches.append(batch)

        coalescer = Coalescer(loop, apply, interval=0.1)
        worker = threading.Thread(target=lambda: [coalescer.put(i) for i in range(1000)])
        worker.start()
        await asyncio.to_thread(worker.join)
        while sum(map(len, batches)) < 1000:
            await asyncio.sleep(0.02)

    asyncio.run(main())
    assert [item for batch in batches for item in batch] == list(range(1000))
    assert len(batches) < 100  # a burst becomes a few batches, not a thousand updates
    assert threads == {threading.get_ident()}  # applied on the loop's thread only


def test_a_failing_batch_is_reported_and_later_batches_still_come():
    seen, errors = [], []

    async def main():
        loop = asyncio.get_running_loop()

        def apply(batch):
            if batch == ["bad"]:
                raise ValueError("display bug")
            seen.extend(batch)

        coalescer = Coalescer(loop, apply, interval=0.0, on_error=errors.append)
        coalescer.put("bad")
        await asyncio.sleep(0.05)
        coalescer.put("good")
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen == ["good"] and isinstance(errors[0], ValueError)


def _objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def test_the_watcher_reads_only_new_trials_and_backs_off_while_idle(storage):
    study = optuna.create_study(storage=storage, study_name="w")
    study.optimize(_objective, n_trials=2)
    delivered: list[list[TrialResult]] = []
    watcher = StudyWatcher(study, [0, 1], delivered.append, n_trials=4, min_interval=1.0, max_interval=8.0)

    assert watcher.step() and delivered == []  # nothing new: wait longer
    assert watcher.interval == 2.0
    watcher.step()
    watcher.step()
    watcher.step()
    assert watcher.interval == 8.0  # capped

    other = optuna.load_study(study_name="w", storage=storage)  # another process's view
    other.optimize(_objective, n_trials=1)
    running = other.ask()
    assert watcher.step()
    assert [r.number for r in delivered[-1]] == [2] and watcher.interval == 1.0
    other.tell(running, 0.5)
    assert not watcher.step()  # 4 of 4 and nothing running: complete
    assert [r.number for r in delivered[-1]] == [3]
