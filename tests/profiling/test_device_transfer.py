"""Device profiles with a reference table: other devices' latencies of the same architectures as the prior."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import spearmanr

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling import targets
from nas_workbench.spec import ArchSpec

SMALL_NB201 = {"num_cells": 1, "stem_channels": 4}


def compiled_ms(spec: ArchSpec) -> float:
    """A device whose cost depends on where an op sits (what a compiler fuses), which counts cannot see."""
    c = spec.choices
    return (
        1.0
        + 4.0 * (c["node3.from0"] == "nor_conv_3x3")
        + 2.0 * (c["node1.from0"] != "none")
        + (1.5 * (c["node2.from1"] == "avg_pool_3x3"))
    )


@pytest.fixture
def space():
    return nw.spaces.get("nb201", **SMALL_NB201)


@pytest.fixture
def table(space, tmp_path):
    """A reference CSV of 150 cells on three devices: one like the target (``twin_ms``), one whose
    latency is unrelated to it, one that adds up op costs; and the cells."""
    rng = random.Random(0)
    specs = list({s.id: s for s in (space.random(rng) for _ in range(400))}.values())[:150]
    noise = np.random.default_rng(0)
    lines = ["index,arch,twin_ms,unrelated_ms,additive_ms"]
    for i, spec in enumerate(specs):
        additive = 1 + sum(
            {"nor_conv_3x3": 2.0, "nor_conv_1x1": 0.7}.get(op, 0.1) for op in spec.choices.values()
        )
        lines.append(
            f"{i},{space.format(spec)},{0.5 * compiled_ms(spec)},{noise.uniform(1, 10):.4f},{additive}"
        )
    path = tmp_path / "reference.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, specs


def test_a_device_like_a_reference_one_is_predicted_from_ten_measurements(space, table):
    path, specs = table
    measured, held_out = specs[:10], specs[10:]
    truth = [compiled_ms(s) for s in held_out]
    latency = [compiled_ms(s) * (1 + 0.02 * (-1) ** i) for i, s in enumerate(measured)]
    with_table = nw.profiling.fit_device(
        "npu", space, measured, latency, reference=path, prior=False, save=False
    )
    alone = nw.profiling.fit_device("npu", space, measured, latency, prior=False, save=False)

    def spearman(profile):
        return spearmanr([profile.predict(s).value for s in held_out], truth).statistic

    assert spearman(with_table) > 0.97 > 0.85 > spearman(alone)
    weights = with_table.quality["weights"]
    assert sum(w for name, w in weights.items() if name.startswith("twin_ms")) > 0.9
    m = with_table.predict(held_out[0])
    assert m.source == "predicted for npu from 10 measurements" and m.detail["model"] == "reference devices"
    assert m.value == pytest.approx(truth[0], rel=0.1)
    # the interval comes from refitting the whole average without each measurement: it covers the ±2%
    low, high = m.detail["interval_80"]
    assert low < m.value < high and with_table.quality["within_10pct"] == 1.0


def test_one_hot_has_one_indicator_per_decision_and_choice_seen(space):
    from nas_workbench.profiling.device_transfer import one_hot

    rng = random.Random(2)
    specs = list({s.id: s for s in (space.random(rng) for _ in range(40))}.values())
    x = one_hot(specs)
    seen = {(d, v) for s in specs for d, v in s.choices.items()}
    assert x.shape == (len(specs), len(seen)) and set(np.unique(x)) == {0.0, 1.0}
    assert (x.sum(axis=1) == len(specs[0].choices)).all()  # each decision takes exactly one choice
    edge = "none" if specs[0].choices["node1.from0"] != "none" else "skip_connect"
    pair = one_hot([specs[0], ArchSpec(specs[0].space, {**specs[0].choices, "node1.from0": edge})])
    assert (pair[0] != pair[1]).sum() == 2  # one edge changed: its old and its new choice


def test_the_profile_and_the_candidate_pool_encode_choices_alike(space):
    """`one_hot` (what a reference device is smoothed on) and `CandidatePool.one_hot` (the feasibility
    model's features) are one encoding in two layouts: the same matrix once the pool's decisions and
    choices are put in sorted order."""
    from nas_workbench.profiling.device_transfer import one_hot
    from nas_workbench.strategies.pool import CandidatePool

    pool = CandidatePool(space, 60, [], seed=0)
    decisions = {d: sorted({s.choices[d] for s in pool.specs}) for d in sorted(pool.specs[0].choices)}
    np.testing.assert_array_equal(one_hot(pool.specs), pool.one_hot(decisions))


def test_a_large_table_is_smoothed_so_a_noisy_twin_passes_on_less_of_its_noise(space, tmp_path):
    from nas_workbench.profiling.device_transfer import SMOOTH_FROM, SMOOTHED

    rng, noise = random.Random(1), np.random.default_rng(1)
    specs = list({s.id: s for s in (space.random(rng) for _ in range(3 * SMOOTH_FROM))}.values())
    specs = specs[:SMOOTH_FROM]
    twin = [0.5 * compiled_ms(s) * (1 + noise.normal(0, 0.15)) for s in specs]
    lines = ["arch,twin_ms,unrelated_ms"]
    lines += [
        f"{space.format(s)},{t:.5f},{noise.uniform(1, 10):.4f}" for s, t in zip(specs, twin, strict=True)
    ]
    path = tmp_path / "large.csv"
    path.write_text("\n".join(lines) + "\n")
    measured, held_out = specs[:10], specs[10:]
    latency = [compiled_ms(s) for s in measured]
    profile = nw.profiling.fit_device(
        "npu", space, measured, latency, reference=path, prior=False, save=False
    )
    assert max(profile.quality["weights"], key=profile.quality["weights"].get) == "twin_ms" + SMOOTHED
    truth = np.array([compiled_ms(s) for s in held_out])
    smoothed = np.array([profile.predict(s).value for s in held_out])
    # the best raw transfer: least squares a + b * twin on the same 10 measurements
    a, b = np.polynomial.polynomial.polyfit(twin[:10], latency, 1)
    raw = a + b * np.array(twin[10:])
    within = lambda p: np.mean(np.abs(p / truth - 1) <= 0.1)  # noqa: E731
    assert within(smoothed) > within(raw) + 0.1


def test_a_saved_profile_finds_its_table_again_and_refuses_a_changed_one(space, table):
    path, specs = table
    latency = [compiled_ms(s) for s in specs[:8]]
    fitted = nw.profiling.fit_device("npu", space, specs[:8], latency, reference=path, prior=False)
    loaded = nw.profiling.load_device("npu")
    assert loaded.reference == {"path": str(path.resolve()), "sha256": fitted.reference["sha256"]}
    assert loaded.predict(specs[20]) == fitted.predict(specs[20])
    outside = next(
        s for s in (space.random(random.Random(9)) for _ in range(500)) if s.id not in {x.id for x in specs}
    )
    assert loaded.predict(outside).detail["model"] == "structure"  # not in the table: the structure model
    path.write_text(path.read_text().replace("index,", "idx,"))
    with pytest.raises(ConfigError, match="its content changed"):
        nw.profiling.load_device("npu").predict(specs[20])


def _set(text: str, line: int, column: int, value: str) -> str:
    """``text`` with the CSV cell at (1-based) ``line`` and ``column`` (0-based) set to ``value``."""
    rows = text.splitlines()
    cells = rows[line - 1].split(",")
    cells[column] = value
    rows[line - 1] = ",".join(cells)
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("_ms", "", 3), "device columns named \\*_ms"),
        (lambda t: _set(t, 3, 2, "-1"), "line 3 twin_ms: '-1' is not allowed; a positive number"),
        (
            lambda t: _set(t, 4, 3, ""),
            "line 4 unrelated_ms: '' is not allowed; a latency in milliseconds \\(missing\\)",
        ),
        (lambda t: _set(t, 5, 1, "|none~0|"), "line 5 arch: '\\|none~0\\|' is not allowed"),
        (
            lambda t: t + t.splitlines()[1] + "\n",
            "line 152 arch: .* each architecture once \\(also on line 2\\)",
        ),
    ],
)
def test_a_bad_reference_table_is_named_by_line_and_column(space, table, edit, message):
    path, _ = table
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=message):
        targets.read_reference(path, space)


def test_every_measured_architecture_must_be_in_the_table(space, table):
    path, specs = table
    outside = next(
        s for s in (space.random(random.Random(9)) for _ in range(500)) if s.id not in {x.id for x in specs}
    )
    with pytest.raises(ConfigError, match=r"archs\[3\]: .* an architecture of the reference table"):
        nw.profiling.fit_device(
            "npu", space, [*specs[:3], outside], [1.0, 2.0, 3.0, 4.0], reference=path, prior=False, save=False
        )


def test_device_fit_takes_a_reference_table_and_show_names_the_models_it_averages(table, tmp_path, capsys):
    from nas_workbench.cli import main

    path, specs = table
    space = nw.spaces.get("nb201")
    measured = tmp_path / "measured.csv"
    rows = [f"{space.format(s)},{compiled_ms(s)}" for s in specs[:6]]
    measured.write_text("\n".join(["arch,latency_ms", *rows]) + "\n")
    assert (
        main(
            [
                "device",
                "fit",
                "npu",
                "--space",
                "nb201",
                "--no-prior",
                "--reference",
                str(path),
                str(measured),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["device", "show", "npu"]) == 0
    assert (
        f"prior: other devices' latencies in {path.resolve()}; models averaged: twin_ms"
        in capsys.readouterr().out
    )
    assert (
        main(
            [
                "device",
                "fit",
                "npu",
                "--space",
                "nb201",
                "--reference",
                str(tmp_path / "nope.csv"),
                str(measured),
            ]
        )
        == 2
    )
    assert "reference" in capsys.readouterr().err


def test_propose_with_a_table_picks_its_cells_where_the_reference_devices_disagree(space, table):
    path, _ = table
    archs = nw.profiling.propose(space, 8, seed=0, reference=path)
    assert archs == nw.profiling.propose(space, 8, seed=0, reference=path) and len(set(archs)) == 8
    reference = targets.read_reference(path, space)
    rows = [reference.index[space.parse(a).id] for a in archs]  # every one from the table
    components = reference.components(3)  # how the three reference devices' latencies vary together

    def spread(chosen: list[int]) -> float:  # log det of the components' information matrix
        x = components[chosen] - components.mean(axis=0)
        return float(np.linalg.slogdet(x.T @ x)[1])

    drawn = [spread(random.Random(s).sample(range(len(components)), 8)) for s in range(40)]
    assert spread(rows) > np.percentile(drawn, 90)


def test_the_interval_is_the_conformal_ranks_of_the_leave_one_out_ratios():
    """Of n ratios measured / predicted, the floor(0.1 (n+1))-th and ceil(0.9 (n+1))-th smallest."""
    from nas_workbench.profiling.device_model import loo_quality

    measured, predicted = np.arange(1.0, 21.0), np.ones(20)
    assert (loo_quality(predicted, measured)["ratio_p10"], loo_quality(predicted, measured)["ratio_p90"]) == (
        2,
        19,
    )
    ten = loo_quality(predicted[:10], measured[:10])
    assert (ten["ratio_p10"], ten["ratio_p90"]) == (1, 10)  # from 10 measurements: the extremes


def test_device_propose_with_a_table_prints_the_fit_command_with_the_same_table(table, tmp_path, capsys):
    from nas_workbench.cli import main

    path, _ = table
    archs = tmp_path / "archs.csv"
    assert (
        main(["device", "propose", "--space", "nb201", "-n", "8", "--reference", str(path), "-o", str(archs)])
        == 0
    )
    said = capsys.readouterr().err
    assert f"`nas-workbench device fit NAME --space nb201 --reference {path} {archs}`" in said
