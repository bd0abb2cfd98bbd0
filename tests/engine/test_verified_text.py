"""The sentence a verification on the target device is announced with (the widget's message)."""

from __future__ import annotations

from nas_workbench.engine.verified_view import verified_text


def _row(number: int, latency_ms: float, within: bool) -> dict[str, object]:
    return {"number": number, "latency_ms": latency_ms, "within": within}


def test_the_sentence_names_each_verdict_and_rounds_the_limit_as_the_latencies() -> None:
    summary = {
        "device": "myphone",
        "limit_ms": 8.254391462353237,
        "predicted": "predicted for myphone from 13 measurements",
        "measured": [_row(2, 5.8, True), _row(7, 10.7312, False), _row(9, 7.4, True)],
    }
    assert verified_text(summary) == (
        "Verified on myphone (limit 8.254 ms): trials 2, 9 measured within budget, trial 7 (10.73 ms) "
        "measured over; the others' latency is predicted for myphone from 13 measurements."
    )


def test_a_verification_that_measured_no_trial_of_the_study_says_so() -> None:
    summary = {"device": "myphone", "limit_ms": 8.0, "predicted": "predicted for myphone", "measured": []}
    assert verified_text(summary).startswith(
        "Verified on myphone (limit 8 ms): no trial of the study measured on myphone;"
    )
