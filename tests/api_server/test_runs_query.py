"""``api.runs()`` and ``api.run()`` against a server: W&B filters and order, lazy pages, paths, W&B-style code."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

import trackwell
from trackwell.api.remote import ServerApi

pytestmark = pytest.mark.usefixtures("sweep")


def ids(runs: Any) -> list[str]:
    return [run.id for run in runs]


def test_wandb_style_export_loop(api: ServerApi) -> None:
    # The export script from W&B's docs, unchanged but for the import.
    import trackwell as wandb

    api = wandb.Api()
    entity, project = "analyst", "sweep"
    runs = api.runs(entity + "/" + project)
    summary_list, config_list, name_list = [], [], []
    for run in runs:
        summary_list.append(run.summary._json_dict)
        config_list.append({k: v for k, v in run.config.items() if not k.startswith("_")})
        name_list.append(run.name)
    assert len(runs) == 12 and len(name_list) == 12
    by_name = dict(zip(name_list, zip(summary_list, config_list, strict=True), strict=True))
    summary, config = by_name["adam-3"]
    assert summary["acc"] == pytest.approx(3 / 12)
    assert config == {"lr": 0.004, "optimizer": "adam", "batch": 64, "model": {"depth": 0}}
    assert [r.summary.get("acc", 0) for r in runs if r.id == "s05"] == [pytest.approx(5 / 12)]


def test_default_order_is_newest_first(api: ServerApi) -> None:
    assert ids(api.runs("analyst/sweep")) == [f"s{i:02d}" for i in reversed(range(12))]
    assert ids(api.runs("analyst/sweep", order="+created_at")) == [f"s{i:02d}" for i in range(12)]


def test_order_by_summary_and_config(api: ServerApi) -> None:
    by_acc = ids(api.runs("analyst/sweep", order="-summary_metrics.acc"))
    finite = [r for r in by_acc if r != "s07"]  # s07's acc is NaN: where it sorts is the server's call
    assert finite == [f"s{i:02d}" for i in reversed(range(12)) if i != 7]
    assert ids(api.runs("analyst/sweep", order="+config.lr"))[:3] == ["s00", "s01", "s02"]
    assert ids(api.runs("analyst/sweep", order="-config.lr"))[:3] == ["s11", "s10", "s09"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"config.optimizer": "adam"}, {1, 3, 5, 7, 9, 11}),
        ({"config.lr": {"$gt": 0.0105}}, {10, 11}),
        ({"config.lr": {"$gte": 0.01, "$lt": 0.012}}, {9, 10}),
        ({"config.lr": {"$lte": 0.002}}, {0, 1}),
        ({"config.model.depth": 2}, {2, 5, 8, 11}),
        ({"config.batch": {"$in": [128]}, "config.optimizer": {"$nin": ["adam"]}}, {6, 8, 10}),
        ({"$or": [{"config.lr": 0.001}, {"config.lr": 0.012}]}, {0, 11}),
        ({"$and": [{"group": "g1"}, {"jobType": "eval"}]}, {0, 5}),
        ({"summary_metrics.acc": {"$gt": 0.8}}, {10, 11}),
        ({"summary_metrics.acc": {"$exists": True}, "state": "finished"}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}),
        ({"summary_metrics.nope": {"$exists": False}, "state": {"$ne": "finished"}}, {10, 11}),
        ({"state": "running"}, {11}),
        ({"tags": "baseline"}, {0, 4, 8}),
        ({"tags": {"$in": ["v2"]}}, {3, 6, 9}),
        ({"tags": {"$nin": ["exp"]}}, {0, 4, 8}),
        ({"display_name": {"$regex": "^adam-1"}}, {1, 11}),
        ({"group": "g2", "config.optimizer": "sgd"}, {6, 8, 10}),
        ({"createdAt": {"$lt": "2026-01-01T02:30:00"}}, {0, 1, 2}),
        ({"created_at": {"$gte": "2026-01-01T10:00:00"}}, {10, 11}),
    ],
)
def test_filters(api: ServerApi, filters: dict[str, Any], expected: set[int]) -> None:
    assert set(ids(api.runs("analyst/sweep", filters=filters))) == {f"s{i:02d}" for i in expected}


def test_pages_are_fetched_as_iteration_needs_them(api: ServerApi, watch: Any) -> None:
    seen = watch(api)
    runs = api.runs("analyst/sweep", per_page=5, order="+created_at")
    assert seen == []  # building the query costs nothing
    first = [run.id for run in itertools.islice(runs, 3)]
    assert first == ["s00", "s01", "s02"] and len(seen) == 1
    assert len(runs) == 12 and len(seen) == 1  # the total came with the first page
    assert runs[4].id == "s04" and len(seen) == 1
    assert runs[7].id == "s07" and len(seen) == 2
    assert ids(runs) == [f"s{i:02d}" for i in range(12)] and len(seen) == 3
    assert ids(runs) == ids(runs[:]) and len(seen) == 3  # pages are kept
    assert runs[-1].id == "s11" and runs.length == 12


def test_len_alone_fetches_one_page(api: ServerApi, watch: Any) -> None:
    seen = watch(api)
    assert len(api.runs("analyst/sweep", filters={"state": "finished"}, per_page=2)) == 10
    assert len(seen) == 1


def test_api_caches_until_flush(api: ServerApi, watch: Any) -> None:
    seen = watch(api)
    run = api.run("analyst/sweep/s01")
    assert api.run("analyst/sweep/s01") is run and len(seen) == 1
    api.flush()
    assert api.run("analyst/sweep/s01") is not run and len(seen) == 2


def test_run_paths(api: ServerApi) -> None:
    run = api.run("analyst/sweep/s03")
    assert run.path == ["analyst", "sweep", "s03"] and run.entity == "analyst" and run.project == "sweep"
    assert api.run("sweep/s03").id == "s03"  # the default entity: the key's owner
    assert api.run("analyst/sweep/runs/s03").id == "s03"  # W&B's URL form
    assert api.default_entity == "analyst" and api.viewer.username == "analyst"
    assert ids(api.runs("sweep", filters={"config.lr": 0.004})) == ["s03"]


def test_run_attributes(api: ServerApi) -> None:
    run = api.run("analyst/sweep/s03")
    assert (run.name, run.display_name) == ("adam-3", "adam-3")
    assert (run.group, run.job_type, run.tags, run.state) == ("g1", "train", ["exp", "v2"], "finished")
    assert run.config["model"] == {"depth": 0}
    assert run.summary["acc"] == pytest.approx(0.25) and run.summary.acc == pytest.approx(0.25)
    assert run.created_at == "2026-01-01T03:00:00"
    assert run.heartbeat_at is not None and run.url and "s03" in run.url
    assert run.lastHistoryStep == 4 and set(run.history_keys) >= {"acc", "loss"}
    assert api.run("analyst/sweep/s10").state == "failed"
    assert repr(run) == "<Run analyst/sweep/s03 (finished)>"


def test_nan_summary_reads_back_as_a_float(api: ServerApi) -> None:
    value = api.run("analyst/sweep/s07").summary["acc"]
    assert isinstance(value, float) and math.isnan(value)


def test_no_server_configured_reads_local_runs(env: Any) -> None:
    from trackwell.api import LocalApi

    assert type(trackwell.Api()) is LocalApi
    assert isinstance(trackwell.Api(), trackwell.Api)


def test_server_chosen_by_overrides_wandb_env_or_login_file(
    server: Any, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackwell.api import LocalApi
    from trackwell.settings import user_config_dir, write_settings_file

    key = server.user("analyst")
    explicit = trackwell.Api(overrides={"base_url": server.url, "entity": "analyst"}, api_key=key, timeout=5)
    assert isinstance(explicit, ServerApi) and isinstance(explicit, trackwell.Api)
    assert explicit.run("sweep/s01").id == "s01"
    assert type(trackwell.Api(root=env, overrides={"base_url": server.url})) is LocalApi  # root= stays local

    monkeypatch.setenv("WANDB_BASE_URL", server.url)
    monkeypatch.setenv("WANDB_API_KEY", key)
    assert trackwell.Api().run("analyst/sweep/s01").id == "s01"
    monkeypatch.delenv("WANDB_BASE_URL")
    monkeypatch.delenv("WANDB_API_KEY")

    write_settings_file(user_config_dir() / "settings", {"base_url": server.url, "api_key": key})
    assert trackwell.Api().run("analyst/sweep/s01").id == "s01"
