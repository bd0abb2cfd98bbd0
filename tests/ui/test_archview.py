"""The selected architecture's export controls: a format, "train first" where a format carries weights,
and Export."""

from __future__ import annotations

import pytest

from nas_workbench.engine.records import TrialResult
from nas_workbench.export.formats import FORMATS, WEIGHT_FORMATS
from nas_workbench.ui.archview import EXPORT_LABELS, ArchPanel

RESULT = TrialResult(
    number=4, status="ok", spec={}, arch="conv3:8", summary="conv3:8", metrics={}, values=(0.9,),
    feasible=True, reason=None, duration_s=1.0, datetime_complete=None, intermediate={}, worker=None,
)  # fmt: skip


@pytest.fixture
def panel() -> tuple[ArchPanel, list[tuple]]:
    """A panel showing trial 4 (as a tap on a plot sets it), and the exports it asked for."""
    asked: list[tuple] = []
    panel = ArchPanel(on_export=lambda fmt, result, train, folder: asked.append((fmt, result.number, train)))
    panel.result = RESULT
    return panel, asked


def test_every_format_is_offered_and_the_button_names_the_picked_one(panel):
    arch, asked = panel
    assert [value for _, value in arch.format.options] == list(FORMATS)
    assert arch.format.value == "onnx" and arch.export_button.description == "Export ONNX"
    arch.format.value = "state_dict"
    assert arch.export_button.description == "Export State dict"
    arch.export_button.click()
    assert asked == [("state_dict", 4, True)]  # train first is ticked by default


@pytest.mark.parametrize("fmt", ["spec", "notebook"])
def test_train_first_is_off_and_says_why_for_a_format_without_weights(panel, fmt):
    """The command line refuses ``export --train`` for a spec or a notebook; the widget unticks and
    disables the box, with a note, rather than ignore it, and gives the user's choice back after."""
    arch, asked = panel
    arch.train.value = True
    arch.format.value = fmt
    assert arch.train.disabled and not arch.train.value
    assert f"{EXPORT_LABELS[fmt]} files hold no weights: nothing to train" in arch.train_note.value
    arch.export_button.click()
    assert asked == [(fmt, 4, False)]
    arch.format.value = "notebook" if fmt == "spec" else "spec"  # another format without weights
    assert arch.train.disabled and not arch.train.value
    for weights in WEIGHT_FORMATS:
        arch.format.value = weights
        assert not arch.train.disabled and arch.train.value and arch.train_note.value == ""
    arch.train.value = False  # unticked by the user: kept the same way
    arch.format.value = fmt
    arch.format.value = "torchscript"
    assert not arch.train.value and not arch.train.disabled


def test_the_button_waits_while_an_export_runs(panel, tmp_path):
    arch, _ = panel
    arch.format.value = "spec"
    path = arch.begin_export("study", "spec", 4, False, str(tmp_path))
    assert path == tmp_path / "study-trial4.json" and arch.export_button.disabled
    assert "Exporting spec to" in arch.message.value and "training first" not in arch.message.value
    arch.set_busy(False)
    assert not arch.export_button.disabled
