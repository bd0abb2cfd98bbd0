"""No storage password leaves the server: not in a response of any endpoint, not in a notebook it writes,
not in what the engine stores with a study (a real search on a real PostgreSQL, reached with a password)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import optuna
import pytest
from sqlalchemy.engine import make_url

import nas_workbench as nw
from nas_workbench.engine.study_record import read_record
from nas_workbench.export import export_report_notebook
from nas_workbench.testing.workers import TINY_CHAIN, score
from tests.conftest import POSTGRES_URL, reachable

API = "nas-workbench/api"
PASSWORD = "s3cret-pw-4711"

#: The test database reached with a password (the server trusts local connections and ignores it, so the
#: study is real and the password is only ever a string that must not travel).
SECRET_URL = make_url(POSTGRES_URL).set(password=PASSWORD).render_as_string(hide_password=False)
STUDY = f"secret-{uuid.uuid4().hex[:8]}"

pytestmark = pytest.mark.skipif(reachable(POSTGRES_URL) is not None, reason="PostgreSQL is unreachable")


@pytest.fixture(scope="module")
def secret_study(tiny_task) -> str:
    """A finished two-trial search stored in PostgreSQL through a URL with a password."""
    config = nw.SearchConfig(
        space="chain", space_options=TINY_CHAIN, strategy="random", objectives=["accuracy", "params"],
        profile_metrics=["params"], n_trials=2, storage=SECRET_URL, study_name=STUDY,
    )  # fmt: skip
    nw.search(config, evaluate=score, data=tiny_task).run()
    yield STUDY
    optuna.delete_study(study_name=STUDY, storage=SECRET_URL)


@pytest.fixture
def extra_storages(secret_study) -> list[str]:
    return [SECRET_URL]


def _text(response) -> str:
    assert PASSWORD in SECRET_URL  # the scan looks for what is really there
    return response.body.decode()


def test_the_stored_record_keeps_the_url_masked(secret_study) -> None:
    study = optuna.load_study(study_name=secret_study, storage=SECRET_URL)
    record = read_record(study)
    assert record is not None and record.config["storage"] == SECRET_URL.replace(PASSWORD, "***")
    assert PASSWORD not in json.dumps(study.user_attrs)


async def test_no_endpoint_answers_or_writes_the_password(jp_fetch, jp_root_dir: Path, secret_study) -> None:
    listing = await jp_fetch(API, "studies")
    assert PASSWORD not in _text(listing)
    storages = json.loads(listing.body)["storages"]
    secret = next(s for s in storages if s["label"].startswith("postgresql"))
    assert secret["error"] is None and "***" in secret["label"]

    details = await jp_fetch(API, "studies", secret["id"], secret_study)
    assert PASSWORD not in _text(details)
    assert json.loads(details.body)["config"]["storage"].endswith("@127.0.0.1:5432/test")

    written = await jp_fetch(
        API,
        "studies",
        secret["id"],
        secret_study,
        "notebook",
        method="POST",
        body=json.dumps({"directory": ""}),
    )
    template = await jp_fetch(API, "notebooks", method="POST", body=json.dumps({"directory": ""}))
    for response in (written, template):
        assert response.code == 201 and PASSWORD not in _text(response)
    files = [p for p in jp_root_dir.rglob("*") if p.is_file() and p.suffix != ".db"]
    assert files and all(PASSWORD not in p.read_text(errors="replace") for p in files)
    notebook = (jp_root_dir / json.loads(written.body)["path"]).read_text()
    assert "PGPASSWORD" in notebook  # it says where the password comes from instead


def test_the_report_notebook_carries_no_password(secret_study, tmp_path: Path) -> None:
    study = optuna.load_study(study_name=secret_study, storage=SECRET_URL)
    path = export_report_notebook(study, tmp_path / "report.ipynb", storage=SECRET_URL)
    text = path.read_text()
    assert PASSWORD not in text and "postgres@127.0.0.1:5432/test" in text
