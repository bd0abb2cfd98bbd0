"""The command line, fuzzed: any command with any of its options set to right or wrong values ends in its
result or in ``error:`` lines and exit status 2 (argparse's own refusals included), never a traceback.

Values come from pools of what users type by mistake (0, negatives, empty strings, unreadable paths,
control characters, mistyped names, malformed files) mixed with valid ones, so that combinations of one
good and one bad value are tried too. Commands that would search for minutes on valid input (``demo``)
always get one bad value; ``run`` always gets a config file, as ``worker`` does when given ``--config``: a
one-trial config of a four-network space, or a faulty one.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from nas_workbench.cli import main
from nas_workbench.testing.workers import TINY_CHAIN

NB201 = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|"
NUMBERS = ["0", "-3", "1", "2", "", "abc", "1e999", "nan", "99999999999999999999", "2.5"]
TEXT = ["", " ", "nonsense", "a\x01b", "é" * 3, "x" * 600, "..", "runs/../x"]
PATHS = ["out/r.html", "/proc/x/r.html", "", ".", "/", "missing/dir/r.html"]
STORAGES = ["sqlite:///s.db", "sqlite:////proc/x/y.db", "", "sqlite://", "postgresql://", "redis://x", "s.db"]
CONFIGS = ["good.yaml", "bad.yaml", "empty.yaml", "binary.yaml", "twice.yaml", "missing.yaml", "list.json"]

#: Each command's options and the values tried for them (None: a flag).
COMMANDS: dict[str, dict[str, list[str] | None]] = {
    "run": {"": CONFIGS, "--storage": STORAGES, "--study": [*TEXT, "cli"], "--trials": NUMBERS,
            "--report": PATHS},
    "demo": {"--trials": NUMBERS[:1] + NUMBERS[4:], "--storage": STORAGES, "--study": TEXT,
             "--budget": ["p300", "fast", "-1", "0", "nan", "inf", "2x nonsense"], "--report": PATHS},
    "worker": {"--storage": STORAGES, "--study": [*TEXT, "cli"], "--config": CONFIGS,
               "--evaluate": ["nope:fn", "os:getcwd", "", "os", "os:sep"],
               "--data": ["bad.pt", "none.pt", "os:sep", "", "x.xlsx", "digits"], "--label": TEXT[:3]},
    "show": {"": [*TEXT, "cli"], "--storage": STORAGES, "--json": None, "--report": PATHS},
    "export": {"": [*TEXT, "cli"], "--storage": STORAGES, "--trial": NUMBERS, "-o": [*PATHS, "spec.json"],
               "--format": ["spec", "onx", "", "notebook"]},
    "profile": {"--space": ["chain", "nb201", "chian", ""], "--arch": ["nonsense", "", "{}", "[1]", NB201],
                "--input-shape": ["1,8,8", "3,8,8", "0,8,8", "3,32", "a,b,c", "", "1,1,1", "1,99999,99999"],
                "--num-classes": NUMBERS, "--method": ["measured", "bogus"],
                "--device": ["cpu", "cuda:9", "tpu", ""],
                "--batch-size": NUMBERS, "--threads": NUMBERS, "--seed": NUMBERS, "--json": None},
    "advise": {"": CONFIGS, "--data": ["digits", "none.csv", "os:sep"], "--label": TEXT[:3],
               "--budget": ["p40", "params=1e5", "=p40"], "--trials": NUMBERS[:4]},
    "spaces": {},
    "strategies": {},
    "device": {"": ["list", "show", "propose", "fit", "nope"], "--space": ["chain", "chian"], "-n": NUMBERS,
               "--json": None},
    "shwo": {},
}  # fmt: skip


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """A command line: a command, then some of its options with values from their pools, in any order."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    options = COMMANDS[command]
    chosen = (
        draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=len(options)))
        if options
        else []
    )
    argv = [command]
    for option in chosen:
        pool = options[option]
        value = [] if pool is None else [draw(st.sampled_from(pool))]
        argv += value if option == "" else [option, *value]
    if command == "demo" and "--trials" not in chosen:
        argv += ["--trials", draw(st.sampled_from(NUMBERS[:1] + NUMBERS[4:]))]  # never a 2-minute search
    if command == "run" and "" not in chosen:  # never the default 30-trial search (timed out under load)
        argv.insert(1, draw(st.sampled_from(CONFIGS)))
    return argv


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder with config files good and bad, and a corrupt saved Task."""
    monkeypatch.chdir(tmp_path)
    good = {"space": "chain", "space_options": TINY_CHAIN, "strategy": "random", "n_trials": 1, "threads": 1,
            "fidelity": {"epochs": 1, "subset": 0.2}, "study_name": "cli", "profile_metrics": ["params"],
            "objectives": ["accuracy", "params"]}  # fmt: skip
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(good))
    (tmp_path / "bad.yaml").write_text("space: chian\nn_trials: 0\nbudget: {latency_ms: .inf}\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "binary.yaml").write_bytes(b"\x80\x81\xfe\x00")
    (tmp_path / "twice.yaml").write_text("n_trials: 1\nn_trials: 2\n")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.pt").write_bytes(b"not a pickle")
    return tmp_path


@pytest.mark.timeout(1800)
def test_any_command_line_ends_in_its_result_or_clear_error_lines(fuzz, folder, capsys):
    @given(argv=invocations())
    def check(argv):
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse: --help, --version and its own refusals
            status = exit.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err + out, argv
        assert status in (0, 1, 2), (argv, status, err)
        if status == 2:
            assert any(line.startswith(("error: ", "nas-workbench")) for line in err.splitlines()), (
                argv,
                err,
            )

    fuzz(check, scale=1.5)
