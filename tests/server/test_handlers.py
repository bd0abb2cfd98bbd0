"""The REST handlers through a real Jupyter server: listing, details, notebooks, auth and hostile input."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

import nbformat
import optuna
import pytest
from tornado.httpclient import HTTPClientError

from nas_workbench.engine.study_record import mark_stopped_itself

API = "nas-workbench/api"


def read_json(response: Any) -> Any:
    return json.loads(response.body.decode())


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body of a request that must fail."""
    with pytest.raises(HTTPClientError) as failure:
        await jp_fetch(*parts, **kwargs)
    response = failure.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return failure.value.code, json.loads(response.body)


async def list_all(jp_fetch: Any) -> dict[str, Any]:
    return read_json(await jp_fetch(API, "studies"))


def row(listing: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in listing["studies"] if s["name"] == name)


# -- listing ---------------------------------------------------------------------------------------------
async def test_lists_a_finished_study_of_the_runs_folder(jp_fetch):
    listing = await list_all(jp_fetch)
    assert [s["label"] for s in listing["storages"]] == ["runs/nas_workbench.db"]
    assert listing["storages"][0]["error"] is None
    alpha = row(listing, "alpha")
    assert alpha["storage"] == listing["storages"][0]["id"]
    assert alpha["status"] == "finished"
    assert alpha["trials"] == {"done": 5, "total": 5, "running": 0}
    assert alpha["best_accuracy"] == 0.9  # the infeasible 0.95 does not count
    assert alpha["pareto_size"] == 2
    assert alpha["feasible"] == {"count": 3, "evaluated": 4}
    assert (alpha["space"], alpha["strategy"]) == ("chain", "tpe")
    assert [o["metric"] for o in alpha["objectives"]] == ["accuracy", "latency_ms"]
    assert alpha["last_update"] > 1.7e9


async def test_status_follows_the_trials(jp_fetch, runs_db, jp_root_dir, write_study):
    write_study(runs_db, "live", [("ok", 0.5, 1.0), ("running",)], n_trials=10)
    write_study(runs_db, "crashed", [("ok", 0.5, 1.0), ("failed",)], n_trials=10)
    write_study(runs_db, "interrupted", [("ok", 0.5, 1.0), ("ok", 0.6, 1.1)], n_trials=10)
    write_study(runs_db, "killed", [("ok", 0.5, 1.0), ("running",)], n_trials=10)
    write_study(runs_db, "exhausted", [("ok", 0.5, 1.0), ("ok", 0.6, 1.1)], n_trials=10)
    mark_stopped_itself(optuna.storages.RDBStorage(runs_db), "exhausted")  # a grid that tried them all
    # The worker of "killed" died: its running trial's heartbeat stopped ten minutes ago.
    with sqlite3.connect(jp_root_dir / "runs" / "nas_workbench.db") as db:
        (trial_id,) = db.execute(
            "SELECT t.trial_id FROM trials t JOIN studies s USING (study_id) "
            "WHERE s.study_name = 'killed' AND t.state = 'RUNNING'"
        ).fetchone()
        db.execute(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, datetime('now', '-600 seconds'))",
            (trial_id,),
        )
    listing = await list_all(jp_fetch)
    status = {s["name"]: s["status"] for s in listing["studies"]}
    assert status == {
        "alpha": "finished",
        "live": "running",
        "crashed": "failed",
        "interrupted": "stopped",
        "killed": "failed",
        "exhausted": "finished",
    }
    assert row(listing, "live")["trials"] == {"done": 1, "total": 10, "running": 1}
    assert row(listing, "killed")["trials"]["running"] == 0


async def test_new_storage_files_in_the_runs_folder_appear_without_restart(
    jp_fetch, jp_root_dir, write_study
):
    write_study(f"sqlite:///{jp_root_dir / 'runs' / 'other.db'}", "beta", [("ok", 0.4, 0.5)], n_trials=1)
    listing = await list_all(jp_fetch)
    assert sorted(s["label"] for s in listing["storages"]) == ["runs/nas_workbench.db", "runs/other.db"]
    assert row(listing, "beta")["status"] == "finished"


async def test_a_foreign_db_file_is_reported_and_left_untouched(jp_fetch, jp_root_dir):
    foreign = jp_root_dir / "runs" / "notes.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = hashlib.sha1(foreign.read_bytes()).hexdigest()
    listing = await list_all(jp_fetch)
    errors = {s["label"]: s["error"] for s in listing["storages"]}
    assert "not an Optuna storage" in errors["runs/notes.db"]
    assert errors["runs/nas_workbench.db"] is None
    assert hashlib.sha1(foreign.read_bytes()).hexdigest() == before
    assert [s["name"] for s in listing["studies"]] == ["alpha"]


@pytest.mark.parametrize(
    "extra_storages", [["postgresql://nas:s3cret@127.0.0.1:9/nas", "sqlite:///elsewhere/x.db"]]
)
async def test_configured_storages_are_listed_without_their_passwords(jp_fetch):
    response = await jp_fetch(API, "studies")
    assert b"s3cret" not in response.body
    storages = read_json(response)["storages"]
    labels = [s["label"] for s in storages]
    assert labels == ["postgresql://nas:***@127.0.0.1:9/nas", "elsewhere/x.db", "runs/nas_workbench.db"]
    unreachable, not_yet_created, runs = storages
    assert "cannot open" in unreachable["error"] or "OperationalError" in unreachable["error"]
    assert not_yet_created["error"] is None and runs["error"] is None


# -- details ---------------------------------------------------------------------------------------------
async def test_details_give_the_front_and_the_best_architecture_with_its_profile(jp_fetch):
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    details = read_json(await jp_fetch(API, "studies", storage, "alpha"))
    assert details["name"] == "alpha" and details["storage_label"] == "runs/nas_workbench.db"
    assert details["budget"] == {"latency_ms": 2.0}
    assert details["counts"] == {"ok": 3, "infeasible": 1, "pruned": 1}
    assert [p["values"] for p in details["pareto"]] == [[0.9, 1.8], [0.8, 1.0]]
    best = details["best"]
    assert best["number"] == 0 and best["status"] == "ok" and best["feasible"]
    assert best["metrics"]["latency_ms"] == {
        "value": 1.8,
        "unit": "ms",
        "method": "measured",
        "source": "torch.utils.benchmark",
        "detail": {},
    }
    assert best["device"] == {"kind": "cpu", "name": "test CPU"}
    architecture = best["architecture"]
    assert architecture["spec"] == best["spec"] and architecture["summary"] == best["summary"]
    assert architecture["describe"][0]["block"] == "stem"
    assert {"op", "channels_in", "channels_out", "stride"} <= set(architecture["describe"][1])


async def test_a_verification_on_the_device_reaches_the_listing_and_the_details(
    jp_fetch, runs_db, verify_in_record
):
    """Verified while the panel shows the study: the next poll's row says so (the panel reads the details
    again when it changes) and the details list what the device measured, within and over the budget."""
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    before = read_json(await jp_fetch(API, "studies", storage, "alpha"))
    assert before["verified"] is None and [p["number"] for p in before["pareto"]] == [0, 1]
    verify_in_record(runs_db, "alpha", {0: 2.2}, {1: 1.1, 2: 1.4, 3: 1.9}, 12)  # the best: over
    alpha = row(await list_all(jp_fetch), "alpha")
    assert alpha["verified"] == {"device": "phone", "measurements": 12, "within": 0, "over": 1}
    assert alpha["best_accuracy"] == 0.8 and alpha["pareto_size"] == 1
    details = read_json(await jp_fetch(API, "studies", storage, "alpha"))
    (measured,) = details["verified"]["measured"]
    assert measured["number"] == 0 and measured["latency_ms"] == 2.2 and not measured["within"]
    assert measured["status"] == "ok" and measured["verdict"].startswith("measured over budget on phone")
    assert details["verified"]["predicted"] == "predicted for phone from 12 measurements"
    assert [p["number"] for p in details["pareto"]] == [1]  # the infeasible 3 stays untrained, off it
    assert details["best"]["number"] == 1
    assert details["best"]["metrics"]["latency_ms"]["source"] == "predicted for phone from 12 measurements"


async def test_study_names_are_path_segments_so_any_name_works(
    jp_fetch, runs_db, http_server_client, jp_auth_header, write_study
):
    write_study(runs_db, "exp/1 über 50%", [("ok", 0.5, 1.0)], n_trials=1)
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    response = await http_server_client.fetch(
        f"/a%40b/{API}/studies/{storage}/exp%2F1%20%C3%BCber%2050%25", headers=jp_auth_header
    )
    assert read_json(response)["name"] == "exp/1 über 50%"


# -- notebooks -------------------------------------------------------------------------------------------
async def test_open_in_notebook_writes_a_notebook_that_loads_the_study(jp_fetch, jp_root_dir):
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    (jp_root_dir / "sub").mkdir()
    paths = []
    for directory in ("", "sub", "sub"):
        response = await jp_fetch(
            API,
            "studies",
            storage,
            "alpha",
            "notebook",
            method="POST",
            body=json.dumps({"directory": directory}),
        )
        assert response.code == 201
        paths.append(read_json(response)["path"])
    assert paths == ["alpha.ipynb", "sub/alpha.ipynb", "sub/alpha-1.ipynb"]
    root = nbformat.read(jp_root_dir / "alpha.ipynb", as_version=4)
    nested = nbformat.read(jp_root_dir / "sub" / "alpha.ipynb", as_version=4)
    nbformat.validate(root)
    code = [c.source for c in root.cells if c.cell_type == "code"]
    assert code == [
        'import nas_workbench as nw\nwb = nw.Workbench.load("alpha", storage="sqlite:///runs/nas_workbench.db")\nwb'
    ]
    assert 'storage="sqlite:///../runs/nas_workbench.db"' in nested.cells[-1].source
    assert root.metadata.kernelspec.name == "python3"


async def test_new_search_notebook_comes_from_the_template(jp_fetch, jp_root_dir):
    (jp_root_dir / "experiments").mkdir()
    response = await jp_fetch(API, "notebooks", method="POST", body=json.dumps({"directory": "experiments/"}))
    assert response.code == 201 and read_json(response) == {"path": "experiments/nas_search.ipynb"}
    notebook = nbformat.read(jp_root_dir / "experiments" / "nas_search.ipynb", as_version=4)
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code", "code"]
    assert notebook.cells[1].source == (
        "import nas_workbench as nw\n\n"
        'config = nw.SearchConfig(space="chain", strategy="tpe", objectives=["accuracy", "latency_ms"], '
        'budget={"latency_ms": 1.0}, n_trials=30)'
    )
    assert notebook.cells[2].source == "nw.Workbench(config)"


# -- authentication --------------------------------------------------------------------------------------
async def test_every_handler_refuses_unauthenticated_requests(jp_fetch, http_server_client, jp_root_dir):
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    requests = [
        ("GET", "studies", None),
        ("GET", f"studies/{storage}/alpha", None),
        ("POST", f"studies/{storage}/alpha/notebook", "{}"),
        ("POST", "notebooks", "{}"),
        ("GET", "no/such/endpoint", None),
    ]
    for method, path, body in requests:
        with pytest.raises(HTTPClientError) as failure:
            await http_server_client.fetch(f"/a%40b/{API}/{path}", method=method, body=body)
        assert failure.value.code == 403, path
    assert not list(jp_root_dir.glob("*.ipynb"))


# -- hostile input ---------------------------------------------------------------------------------------
async def test_only_configured_storages_can_be_named(http_server_client, jp_auth_header):
    refused = {
        "..%2F..%2Fetc%2Fpasswd": 400,
        "%2Fetc%2Fpasswd": 400,
        "sqlite%3A%2F%2F%2Ftmp%2Fx.db": 400,
        "http%3A%2F%2F169.254.169.254%2F": 400,
        "0123456789AB": 400,
        # well-formed ids of URLs the server was not configured with: no server-side request forgery
        hashlib.sha1(b"postgresql://evil.example.org/db").hexdigest()[:12]: 404,
        hashlib.sha1(b"sqlite:////etc/passwd").hexdigest()[:12]: 404,
    }
    for storage, code in refused.items():
        for method, suffix, body in [("GET", "", None), ("POST", "/notebook", '{"directory": ""}')]:
            with pytest.raises(HTTPClientError) as failure:
                await http_server_client.fetch(
                    f"/a%40b/{API}/studies/{storage}/alpha{suffix}",
                    method=method,
                    body=body,
                    headers=jp_auth_header,
                )
            assert failure.value.code == code, storage
            assert "storage" in json.loads(failure.value.response.body)["message"]


async def test_unknown_and_malformed_study_names_are_refused(jp_fetch, http_server_client, jp_auth_header):
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    refused = [
        ("nope", 404, "no study named 'nope'"),
        ("bad%0Aname", 400, "malformed study name"),
        ("x" * 600, 400, "at most 512 characters"),
    ]
    for study, code, words in refused:
        with pytest.raises(HTTPClientError) as failure:
            await http_server_client.fetch(f"/a%40b/{API}/studies/{storage}/{study}", headers=jp_auth_header)
        assert failure.value.code == code, study
        assert words in json.loads(failure.value.response.body)["message"]


async def test_notebooks_are_written_only_into_visible_folders_of_the_root(jp_fetch, jp_root_dir):
    (jp_root_dir / ".hidden").mkdir()
    (jp_root_dir / "sub").mkdir()
    storage = (await list_all(jp_fetch))["storages"][0]["id"]
    refused = [
        ({"directory": "../"}, 400, "relative to the server root"),
        ({"directory": "sub/../../outside"}, 400, "relative to the server root"),
        ({"directory": "/etc"}, 400, "relative to the server root"),
        ({"directory": "..\\..\\etc"}, 400, "relative to the server root"),
        ({"directory": "missing"}, 404, "no folder 'missing'"),
        ({"directory": ".hidden"}, 404, "no folder '.hidden'"),
        ({"directory": ["sub"]}, 400, "directory must be a string"),
        ([], 400, "must be a JSON object"),
    ]
    for body, code, words in refused:
        for parts in [("notebooks",), ("studies", storage, "alpha", "notebook")]:
            status, reply = await fetch_error(jp_fetch, API, *parts, method="POST", body=json.dumps(body))
            assert (status, words in reply["message"]) == (code, True), (body, reply)
    status, reply = await fetch_error(jp_fetch, API, "notebooks", method="POST", body="{directory: ''")
    assert status == 400 and "not JSON" in reply["message"]
    assert not list(jp_root_dir.rglob("*.ipynb"))
    assert not list(jp_root_dir.parent.glob("*.ipynb"))


async def test_unknown_endpoints_and_methods_answer_json(jp_fetch):
    status, reply = await fetch_error(jp_fetch, API, "storages", "list")
    assert status == 404 and "no NAS Workbench endpoint 'storages/list'" in reply["message"]
    status, reply = await fetch_error(jp_fetch, API, "studies", method="DELETE")
    assert status == 405 and reply["message"]
