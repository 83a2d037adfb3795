"""run.summary and define_metric: last values, overrides, aggregates, globs, step metrics, and what lands on disk."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell._pipeline.runlog import Record, read_log
from trackwell.errors import RunFinishedError, UsageError
from trackwell.run import Run


def log_records(run: Run) -> list[Record]:
    (log,) = Path(run._run_dir).glob("run-*.twlog")
    return read_log(log).records


def user_keys(summary: Any) -> dict[str, Any]:
    """The summary without trackwell's own ``_step``/``_runtime``/``_timestamp``."""
    return {k: v for k, v in dict(summary).items() if not k.startswith("_")}


def history(run: Run) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.body.items() if k not in ("_timestamp", "_runtime")}
        for r in log_records(run)
        if r.kind == "history"
    ]


# -- the default: last value ---------------------------------------------------------------


def test_summary_holds_the_last_value_of_each_key(offline_run: Run) -> None:
    offline_run.log({"loss": 1.0, "acc": 0.1})
    offline_run.log({"loss": 0.5})
    offline_run.log({"loss": 0.7, "lr": 0.01})

    assert user_keys(offline_run.summary) == {"loss": 0.7, "acc": 0.1, "lr": 0.01}
    assert offline_run.summary["_step"] == 2
    assert offline_run.summary.loss == 0.7  # attribute access, as in W&B
    assert "acc" in offline_run.summary
    assert len(offline_run.summary) == len(dict(offline_run.summary))


def test_summary_is_exact_right_after_log(offline_run: Run) -> None:
    # reading the summary waits for the writer: no flush needed, no stale value
    for i in range(2000):
        offline_run.log({"i": i})
    assert offline_run.summary["i"] == 1999


def test_missing_summary_key(offline_run: Run) -> None:
    with pytest.raises(KeyError):
        offline_run.summary["nope"]
    with pytest.raises(AttributeError):
        offline_run.summary.nope  # noqa: B018
    assert offline_run.summary.get("nope", 5) == 5


def test_explicit_summary_value_overrides_the_last_logged_value(offline_run: Run) -> None:
    offline_run.log({"loss": 0.9})
    offline_run.log({"loss": 0.3})
    offline_run.summary["loss"] = 0.1
    offline_run.summary.best_epoch = 4  # attribute style
    offline_run.summary.update({"note": "ok"})

    assert user_keys(offline_run.summary) == {"loss": 0.1, "best_epoch": 4, "note": "ok"}
    offline_run.finish()
    assert user_keys(offline_run.summary) == {"loss": 0.1, "best_epoch": 4, "note": "ok"}


def test_override_is_replaced_when_the_key_is_logged_again(offline_run: Run) -> None:
    offline_run.log({"loss": 0.9})
    offline_run.summary["loss"] = 0.1
    offline_run.log({"loss": 0.5})

    assert offline_run.summary["loss"] == 0.5


def test_summary_only_keys_survive_later_logs(offline_run: Run) -> None:
    offline_run.summary["final_score"] = 42
    offline_run.log({"loss": 0.5})
    assert offline_run.summary["final_score"] == 42


def test_delete_a_summary_key(offline_run: Run) -> None:
    offline_run.log({"a": 1, "b": 2})
    del offline_run.summary["a"]
    assert "a" not in offline_run.summary
    with pytest.raises(KeyError):
        del offline_run.summary["never-there"]
    offline_run.finish()
    assert "a" not in json.loads((Path(offline_run._run_dir) / "files" / "summary.json").read_text())


def test_nested_summary_values(offline_run: Run) -> None:
    offline_run.log({"val": {"loss": 0.4, "acc": {"top1": 0.6}}})
    assert offline_run.summary["val"] == {"loss": 0.4, "acc": {"top1": 0.6}}

    offline_run.summary["eval"] = {"f1": 0.8, "per_class": {"cat": 0.9, "dog": 0.7}}
    offline_run.finish()
    assert offline_run.summary["eval"]["per_class"]["dog"] == 0.7
    on_disk = json.loads((Path(offline_run._run_dir) / "files" / "summary.json").read_text())
    assert on_disk["eval"] == {"f1": 0.8, "per_class": {"cat": 0.9, "dog": 0.7}}
    assert on_disk["val"] == {"loss": 0.4, "acc": {"top1": 0.6}}


def test_summary_values_are_normalized(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.summary["x"] = np.float32(0.5)
    offline_run.summary["n"] = np.int64(2)
    assert type(offline_run.summary["x"]) is float
    assert type(offline_run.summary["n"]) is int


def test_summary_non_string_key_is_a_type_error(offline_run: Run) -> None:
    with pytest.raises(TypeError):
        offline_run.summary.update({1: 2})


def test_summary_edit_after_finish_raises(offline_run: Run) -> None:
    offline_run.log({"a": 1})
    offline_run.finish()
    with pytest.raises(RunFinishedError):
        offline_run.summary["a"] = 5
    assert offline_run.summary["a"] == 1


def test_module_level_summary(offline_run: Run) -> None:
    offline_run.log({"a": 1})
    assert trackwell.summary["a"] == 1
    trackwell.summary["b"] = 2
    assert offline_run.summary["b"] == 2


# -- define_metric summaries ------------------------------------------------------------------

LOSSES = [0.8, 0.2, 0.5, 0.4]


def log_losses(run: Run, key: str = "loss") -> None:
    for value in LOSSES:
        run.log({key: value})


@pytest.mark.parametrize(
    ("summary", "goal", "expected"),
    [
        ("min", None, {"min": 0.2}),
        ("max", None, {"max": 0.8}),
        ("mean", None, {"mean": pytest.approx(sum(LOSSES) / 4)}),
        ("first", None, {"first": 0.8}),
        ("last", None, {"last": 0.4}),
        ("best", "minimize", {"best": 0.2}),
        ("best", "maximize", {"best": 0.8}),
        ("best", "min", {"best": 0.2}),
        ("min,max", None, {"min": 0.2, "max": 0.8}),
        ("min, max ,mean", None, {"min": 0.2, "max": 0.8, "mean": pytest.approx(0.475)}),
        (["first", "last"], None, {"first": 0.8, "last": 0.4}),
        ("MAX", None, {"max": 0.8}),
    ],
)
def test_define_metric_summary(
    offline_run: Run, summary: Any, goal: str | None, expected: dict[str, Any]
) -> None:
    offline_run.define_metric("loss", summary=summary, goal=goal)
    log_losses(offline_run)

    assert offline_run.summary["loss"] == expected
    offline_run.finish()
    assert offline_run.summary["loss"] == expected


def test_summary_none_removes_the_key(offline_run: Run) -> None:
    offline_run.define_metric("noisy", summary="none")
    offline_run.log({"noisy": 1, "kept": 2})
    offline_run.log({"noisy": 3})
    offline_run.finish()

    assert "noisy" not in offline_run.summary
    assert offline_run.summary["kept"] == 2
    assert [r["noisy"] for r in history(offline_run)] == [1, 3]  # still in the history


def test_mean_ignores_nan(offline_run: Run) -> None:
    offline_run.define_metric("x", summary="mean,min,max")
    for v in (1.0, math.nan, 3.0):
        offline_run.log({"x": v})
    assert offline_run.summary["x"] == {"mean": 2.0, "min": 1.0, "max": 3.0}


def test_rule_defined_after_some_rows_aggregates_from_then_on(offline_run: Run) -> None:
    offline_run.log({"loss": 0.01})
    offline_run.define_metric("loss", summary="max")
    offline_run.log({"loss": 0.5})
    offline_run.log({"loss": 0.3})
    assert offline_run.summary["loss"] == {"max": 0.5}


def test_glob_pattern_applies_to_matching_keys_only(offline_run: Run) -> None:
    offline_run.define_metric("train/*", summary="min")
    offline_run.log({"train/loss": 0.5, "train/err": 0.3, "val/loss": 0.9})
    offline_run.log({"train/loss": 0.2, "train/err": 0.4, "val/loss": 0.8})

    assert offline_run.summary["train/loss"] == {"min": 0.2}
    assert offline_run.summary["train/err"] == {"min": 0.3}
    assert offline_run.summary["val/loss"] == 0.8


def test_exact_rule_wins_over_a_glob(offline_run: Run) -> None:
    offline_run.define_metric("train/*", summary="min")
    offline_run.define_metric("train/acc", summary="max")
    offline_run.log({"train/loss": 0.5, "train/acc": 0.1})
    offline_run.log({"train/loss": 0.2, "train/acc": 0.7})

    assert offline_run.summary["train/loss"] == {"min": 0.2}
    assert offline_run.summary["train/acc"] == {"max": 0.7}


def test_override_then_log_again_with_a_rule(offline_run: Run) -> None:
    offline_run.define_metric("loss", summary="min")
    offline_run.log({"loss": 0.5})
    offline_run.summary["loss"] = {"min": 0.0}
    assert offline_run.summary["loss"] == {"min": 0.0}
    offline_run.log({"loss": 0.4})
    assert offline_run.summary["loss"] == {"min": 0.4}


def test_define_metric_is_recorded_in_the_log(offline_run: Run) -> None:
    offline_run.define_metric("val/*", step_metric="epoch", summary="min,last", goal="minimize", hidden=True)
    offline_run.finish()
    (body,) = [r.body for r in log_records(offline_run) if r.kind == "metric"]
    assert body == {
        "name": "val/*",
        "step_metric": "epoch",
        "step_sync": True,
        "hidden": True,
        "summary": ["min", "last"],
        "goal": "minimize",
    }


def test_module_level_define_metric(offline_run: Run) -> None:
    trackwell.define_metric("loss", summary="min")
    log_losses(offline_run)
    assert offline_run.summary["loss"] == {"min": 0.2}


# -- step metrics ---------------------------------------------------------------------------------


def test_step_sync_adds_the_last_step_metric_value(offline_run: Run) -> None:
    offline_run.define_metric("epoch")
    offline_run.define_metric("val/*", step_metric="epoch")
    offline_run.log({"epoch": 1, "val/loss": 0.9})
    offline_run.log({"train/loss": 0.5})  # no rule: untouched
    offline_run.log({"val/loss": 0.8})  # epoch missing: the last value (1) is added
    offline_run.log({"epoch": 2})
    offline_run.log({"val/acc": 0.3})
    offline_run.finish()

    assert history(offline_run) == [
        {"epoch": 1, "val/loss": 0.9, "_step": 0},
        {"train/loss": 0.5, "_step": 1},
        {"val/loss": 0.8, "epoch": 1, "_step": 2},
        {"epoch": 2, "_step": 3},
        {"val/acc": 0.3, "epoch": 2, "_step": 4},
    ]


def test_step_sync_false_leaves_rows_alone(offline_run: Run) -> None:
    offline_run.define_metric("val/loss", step_metric="epoch", step_sync=False)
    offline_run.log({"epoch": 1, "val/loss": 0.9})
    offline_run.log({"val/loss": 0.8})
    offline_run.finish()

    assert history(offline_run)[1] == {"val/loss": 0.8, "_step": 1}


def test_step_sync_without_any_step_metric_value_yet(offline_run: Run) -> None:
    offline_run.define_metric("val/loss", step_metric="epoch")
    offline_run.log({"val/loss": 0.8})
    offline_run.finish()
    assert history(offline_run) == [{"val/loss": 0.8, "_step": 0}]


def test_public_api_history_with_a_step_metric_x_axis(offline_run: Run, trackwell_dir: Path) -> None:
    offline_run.define_metric("val/*", step_metric="epoch")
    for epoch in range(3):
        offline_run.log({"epoch": epoch})
        offline_run.log({"val/loss": 1.0 / (epoch + 1)})
    offline_run.finish()

    api_run = trackwell.Api(root=trackwell_dir).run(offline_run.id)
    rows = api_run.history(keys=["val/loss"], x_axis="epoch", pandas=False)
    assert [(r["epoch"], r["val/loss"]) for r in rows] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]


# -- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": None},
        {"name": "*loss"},  # globs may only end with '*'
        {"name": "loss", "summary": "median"},
        {"name": "loss", "summary": "min,avg"},
        {"name": "loss", "summary": "best"},  # best needs a goal
        {"name": "loss", "goal": "down"},
        {"name": "loss", "step_metric": 5},
    ],
)
def test_bad_define_metric_arguments_raise(offline_run: Run, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        offline_run.define_metric(**kwargs)
    offline_run.finish()
    assert [r for r in log_records(offline_run) if r.kind == "metric"] == []


def test_define_metric_after_finish_raises(offline_run: Run) -> None:
    offline_run.finish()
    with pytest.raises(RunFinishedError):
        offline_run.define_metric("loss", summary="min")


# -- what lands on disk -----------------------------------------------------------------------------


def test_summary_json_and_final_summary_match_run_summary(offline_run: Run) -> None:
    offline_run.define_metric("loss", summary="min,max")
    offline_run.define_metric("acc", summary="best", goal="maximize")
    offline_run.define_metric("hidden", summary="none")
    for i in range(5):
        offline_run.log({"loss": 1.0 / (i + 1), "acc": i / 10, "hidden": i, "step_info": {"i": i}})
    offline_run.summary["note"] = "done"
    offline_run.finish()

    summary = dict(offline_run.summary)
    on_disk = json.loads((Path(offline_run._run_dir) / "files" / "summary.json").read_text(encoding="utf-8"))
    records = log_records(offline_run)
    (final,) = [r.body for r in records if r.kind == "final_summary"]

    assert on_disk == summary
    assert final == summary
    assert summary["loss"] == {"min": 0.2, "max": 1.0}
    assert summary["acc"] == {"best": 0.4}
    assert "hidden" not in summary
    assert summary["note"] == "done"
    assert summary["step_info"] == {"i": 4}
    assert summary["_step"] == 4
    # final_summary comes right before the exit record
    assert [r.kind for r in records][-2:] == ["final_summary", "exit"]


def test_public_api_summary_matches_run_summary(offline_run: Run, trackwell_dir: Path) -> None:
    offline_run.define_metric("loss", summary="min")
    log_losses(offline_run)
    offline_run.summary["extra"] = 1
    offline_run.finish()

    api_run = trackwell.Api(root=trackwell_dir).run(offline_run.id)
    assert dict(api_run.summary) == dict(offline_run.summary)


def test_summary_of_a_run_with_no_rows(offline_run: Run) -> None:
    offline_run.finish()
    assert user_keys(offline_run.summary) == {}
    assert json.loads((Path(offline_run._run_dir) / "files" / "summary.json").read_text()) == dict(
        offline_run.summary
    )


def test_huge_int_summary_is_the_same_for_the_run_and_its_readers(
    offline_run: Run, trackwell_dir: Path
) -> None:
    # The log stores ints beyond 64 bits as floats; the run's own summary and
    # summary.json must say the same thing readers of the log will see.
    offline_run.log({"big": 2**70 + 12345})
    offline_run.finish()

    (final,) = [r.body for r in log_records(offline_run) if r.kind == "final_summary"]
    on_disk = json.loads((Path(offline_run._run_dir) / "files" / "summary.json").read_text(encoding="utf-8"))
    api_value = trackwell.Api(root=trackwell_dir).run(offline_run.id).summary["big"]
    assert final["big"] == pytest.approx(2**70 + 12345)
    assert offline_run.summary["big"] == final["big"] == on_disk["big"] == api_value
