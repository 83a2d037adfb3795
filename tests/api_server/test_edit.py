"""Editing runs through the server-backed Public API: ``run.update()``, ``summary.update()``, ``run.delete()``."""

from __future__ import annotations

import math
from typing import Any

import pytest

from trackwell.api.remote import ServerApi
from trackwell.errors import RunNotFoundError


@pytest.fixture
def edit_run(seed: Any, request: pytest.FixtureRequest) -> str:
    """A fresh run of its own for each test, so edits never leak into other tests."""
    run_id = request.node.name.replace("test_", "")[:40].replace("[", "-").replace("]", "")
    seed.run(
        "edits",
        run_id,
        rows=[{"acc": 0.5}, {"acc": 0.7}],
        config={"lr": 0.1, "layers": [64, 32]},
        tags=["a"],
        notes="first",
        group="g",
        job_type="train",
    )
    return f"analyst/edits/{run_id}"


def test_update_persists_name_tags_notes_config_summary(api: ServerApi, edit_run: str) -> None:
    run = api.run(edit_run)
    run.name = "renamed"
    run.tags.append("b")
    run.notes = "second"
    run.group = "g2"
    run.job_type = "eval"
    run.config["lr"] = 0.01
    run.config["new"] = {"nested": True}
    run.summary["best"] = 0.9
    run.summary["nan"] = math.nan
    del run.summary["acc"]
    run.update()
    api.flush()
    again = api.run(edit_run)
    assert again is not run
    assert (again.name, again.display_name, again.tags, again.notes) == (
        "renamed",
        "renamed",
        ["a", "b"],
        "second",
    )
    assert (again.group, again.job_type) == ("g2", "eval")
    assert again.config == {"lr": 0.01, "layers": [64, 32], "new": {"nested": True}}
    assert again.summary["best"] == 0.9 and "acc" not in again.summary
    assert math.isnan(again.summary["nan"])


def test_summary_update_saves_at_once(api: ServerApi, edit_run: str) -> None:
    api.run(edit_run).summary.update({"accuracy": 0.95})  # W&B's documented one-liner
    api.flush()
    assert api.run(edit_run).summary["accuracy"] == 0.95
    assert api.run(edit_run).summary["acc"] == 0.7  # the rest of the summary stays


def test_display_name_is_an_alias_of_name(api: ServerApi, edit_run: str) -> None:
    run = api.run(edit_run)
    run.display_name = "shown"
    run.update()
    api.flush()
    assert api.run(edit_run).name == "shown"


def test_update_sends_only_what_changed(api: ServerApi, edit_run: str, watch: Any) -> None:
    run = api.run(edit_run)
    seen = watch(api)
    run.update()
    assert seen == []  # nothing edited: no request
    run.notes = "changed"
    run.update()
    assert len(seen) == 1


def test_delete(api: ServerApi, edit_run: str) -> None:
    run = api.run(edit_run)
    run.delete()
    with pytest.raises(RunNotFoundError, match=edit_run):
        api.run(edit_run)
    api.flush()
    assert edit_run.rsplit("/", 1)[1] not in [r.id for r in api.runs("analyst/edits")]


def test_other_users_may_not_edit(
    server: Any, api: ServerApi, edit_run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trackwell
    from trackwell.errors import CommError

    api.client.send("PATCH", "/projects/analyst/edits", {"visibility": "public"})
    try:
        monkeypatch.setenv("TRACKWELL_API_KEY", server.user("outsider"))
        outsider = trackwell.Api()
        run = outsider.run(edit_run)  # public: outsider may read it
        run.notes = "outsider was here"
        with pytest.raises(CommError) as caught:
            run.update()
        assert caught.value.status == 403
        with pytest.raises(CommError):
            run.delete()
    finally:
        api.client.send("PATCH", "/projects/analyst/edits", {"visibility": "private"})
    api.flush()
    assert api.run(edit_run).notes == "first"
