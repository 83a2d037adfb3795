"""run.log(): W&B's step semantics, value normalization, limits and bad input, read back from the run log."""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell._pipeline.runlog import Record, read_log
from trackwell.errors import DataDroppedWarning, RunFinishedError, UsageError
from trackwell.run import Run


def log_records(run: Run) -> list[Record]:
    """Every record of the run's log, as a reader sees it."""
    (log,) = Path(run._run_dir).glob("run-*.twlog")
    result = read_log(log)
    assert result.torn_bytes == 0
    return result.records


def history(run: Run) -> list[dict[str, Any]]:
    """History rows of the run log, without the time columns (they vary)."""
    rows = []
    for rec in log_records(run):
        if rec.kind == "history":
            rows.append({k: v for k, v in rec.body.items() if k not in ("_timestamp", "_runtime")})
    return rows


def flushed_history(run: Run) -> list[dict[str, Any]]:
    assert run.flush()
    return history(run)


# -- step semantics -----------------------------------------------------------------


def test_each_call_is_a_new_step(offline_run: Run) -> None:
    for i in range(3):
        offline_run.log({"loss": 1.0 / (i + 1)})

    assert offline_run.step == 3
    assert flushed_history(offline_run) == [
        {"loss": 1.0, "_step": 0},
        {"loss": 0.5, "_step": 1},
        {"loss": 1 / 3, "_step": 2},
    ]


def test_rows_carry_time_columns(offline_run: Run) -> None:
    offline_run.log({"x": 1})
    offline_run.flush()

    (row,) = [r.body for r in log_records(offline_run) if r.kind == "history"]
    assert row["_timestamp"] >= offline_run.start_time
    assert row["_runtime"] == pytest.approx(row["_timestamp"] - offline_run.start_time)


def test_explicit_step_is_committed_by_a_later_step(offline_run: Run) -> None:
    offline_run.log({"a": 1}, step=3)
    # Still pending: W&B commits an explicit step only when a later step arrives.
    assert flushed_history(offline_run) == []

    offline_run.log({"b": 2}, step=3)  # same step: merged
    offline_run.log({"c": 3}, step=7)  # higher step: step 3 is written
    assert flushed_history(offline_run) == [{"a": 1, "b": 2, "_step": 3}]

    offline_run.finish()  # finish commits the pending step 7
    assert history(offline_run) == [{"a": 1, "b": 2, "_step": 3}, {"c": 3, "_step": 7}]


def test_explicit_step_with_commit_true_is_written_at_once(offline_run: Run) -> None:
    offline_run.log({"a": 1}, step=4, commit=True)

    assert offline_run.step == 5
    assert flushed_history(offline_run) == [{"a": 1, "_step": 4}]
    offline_run.log({"b": 2})
    assert flushed_history(offline_run)[-1] == {"b": 2, "_step": 5}


def test_plain_log_after_explicit_step_commits_into_that_step(offline_run: Run) -> None:
    offline_run.log({"a": 1}, step=2)
    offline_run.log({"b": 2})

    assert flushed_history(offline_run) == [{"a": 1, "b": 2, "_step": 2}]
    assert offline_run.step == 3


def test_commit_false_accumulates_into_the_next_committed_row(offline_run: Run) -> None:
    offline_run.log({"a": 1}, commit=False)
    offline_run.log({"b": 2}, commit=False)
    offline_run.log({"a": 10}, commit=False)  # a later value of the same key wins
    assert offline_run.step == 0
    assert flushed_history(offline_run) == []

    offline_run.log({"c": 3})
    offline_run.log({"d": 4})

    assert flushed_history(offline_run) == [
        {"a": 10, "b": 2, "c": 3, "_step": 0},
        {"d": 4, "_step": 1},
    ]


def test_commit_true_with_empty_row_commits_the_pending_row(offline_run: Run) -> None:
    offline_run.log({"a": 1}, commit=False)
    offline_run.log({}, commit=True)

    assert flushed_history(offline_run) == [{"a": 1, "_step": 0}]
    assert offline_run.step == 1


def test_pending_row_is_committed_at_finish(offline_run: Run) -> None:
    offline_run.log({"a": 1})
    offline_run.log({"b": 2}, commit=False)
    offline_run.finish()

    assert history(offline_run) == [{"a": 1, "_step": 0}, {"b": 2, "_step": 1}]


def test_lower_step_is_warned_about_and_dropped(offline_run: Run) -> None:
    for _ in range(5):
        offline_run.log({"x": 1})

    with pytest.warns(DataDroppedWarning) as caught:
        offline_run.log({"late": 99}, step=2)

    (w,) = caught.list
    # W&B's wording, so searches for the W&B message find it.
    assert str(w.message).startswith(
        "Tried to log to step 2 that is less than the current step 5. "
        "Steps must be monotonically increasing, so this data will be ignored."
    )
    assert w.filename == __file__  # points at the caller's line, not at trackwell
    assert offline_run.step == 5
    rows = flushed_history(offline_run)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    assert all("late" not in r for r in rows)


def test_lower_step_does_not_disturb_a_pending_row(offline_run: Run) -> None:
    offline_run.log({"a": 1}, step=5)
    with pytest.warns(DataDroppedWarning):
        offline_run.log({"b": 2}, step=1, commit=True)
    offline_run.log({"c": 3}, commit=True)

    assert flushed_history(offline_run) == [{"a": 1, "c": 3, "_step": 5}]


def test_higher_step_flushes_pending_commit_false_row(offline_run: Run) -> None:
    offline_run.log({"a": 1}, commit=False)  # pending at step 0
    offline_run.log({"b": 2}, step=3)  # commits step 0, b pending at step 3
    offline_run.log({"c": 3})  # commits step 3

    assert flushed_history(offline_run) == [{"a": 1, "_step": 0}, {"b": 2, "c": 3, "_step": 3}]
    assert offline_run.step == 4


def test_step_must_be_an_integer(offline_run: Run) -> None:
    with pytest.raises(TypeError, match="integer"):
        offline_run.log({"a": 1}, step=1.5)  # type: ignore[arg-type]
    offline_run.log({"a": 2})
    assert flushed_history(offline_run) == [{"a": 2, "_step": 0}]


def test_numpy_integer_step_is_accepted(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.log({"a": 1}, step=np.int64(4), commit=True)
    assert flushed_history(offline_run) == [{"a": 1, "_step": 4}]


def test_empty_log_adds_nothing(offline_run: Run) -> None:
    offline_run.log({})
    offline_run.log({})
    assert offline_run.step == 0
    offline_run.log({"a": 1})
    offline_run.log({})
    assert offline_run.step == 1
    offline_run.finish()
    assert history(offline_run) == [{"a": 1, "_step": 0}]


def test_non_dict_data_is_a_type_error(offline_run: Run) -> None:
    with pytest.raises(TypeError):
        offline_run.log([("a", 1)])  # type: ignore[arg-type]
    assert flushed_history(offline_run) == []


def test_log_does_not_keep_a_reference_to_the_callers_dict(offline_run: Run) -> None:
    row = {"a": 1, "nested": {"b": 2}}
    offline_run.log(row)
    row["a"] = 100
    row["nested"]["b"] = 200
    row["extra"] = 3

    assert flushed_history(offline_run) == [{"a": 1, "nested": {"b": 2}, "_step": 0}]


# -- values -----------------------------------------------------------------------------


def test_numpy_scalars_and_0d_arrays_become_plain_numbers(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.log(
        {
            "f32": np.float32(0.5),
            "f64": np.float64(0.25),
            "f16": np.float16(2.0),
            "i64": np.int64(7),
            "u8": np.uint8(200),
            "u64max": np.uint64(2**64 - 1),
            "b": np.bool_(True),
            "arr0f": np.array(1.5),
            "arr0i": np.array(3, dtype=np.int32),
        }
    )
    summary = dict(offline_run.summary)
    expected = {
        "f32": (float, 0.5), "f64": (float, 0.25), "f16": (float, 2.0), "i64": (int, 7),
        "u8": (int, 200), "u64max": (int, 2**64 - 1), "b": (bool, True),
        "arr0f": (float, 1.5), "arr0i": (int, 3),
    }  # fmt: skip
    for key, (kind, value) in expected.items():
        assert type(summary[key]) is kind, key
        assert summary[key] == value, key

    (row,) = history(offline_run)
    for key, (kind, value) in expected.items():
        assert type(row[key]) is kind, key
        assert row[key] == value, key


def test_numpy_arrays_become_lists(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.log({"v": np.arange(4, dtype=np.int16), "m": np.eye(2)})
    (row,) = flushed_history(offline_run)
    assert row["v"] == [0, 1, 2, 3]
    assert row["m"] == [[1.0, 0.0], [0.0, 1.0]]


def test_torch_0d_tensors_become_plain_numbers(offline_run: Run) -> None:
    torch = pytest.importorskip("torch")
    grad = torch.tensor(2.0, requires_grad=True) * 3  # still attached to a graph
    offline_run.log(
        {
            "f": torch.tensor(0.5),
            "i": torch.tensor(4),
            "b": torch.tensor(True),
            "g": grad,
            "half": torch.tensor(1.5, dtype=torch.float16),
        }
    )
    (row,) = flushed_history(offline_run)
    assert (type(row["f"]), row["f"]) == (float, 0.5)
    assert (type(row["i"]), row["i"]) == (int, 4)
    assert (type(row["b"]), row["b"]) == (bool, True)
    assert (type(row["g"]), row["g"]) == (float, 6.0)
    assert (type(row["half"]), row["half"]) == (float, 1.5)


def test_torch_tensor_with_elements_becomes_a_list(offline_run: Run) -> None:
    torch = pytest.importorskip("torch")
    offline_run.log({"t": torch.tensor([1.0, 2.0])})
    (row,) = flushed_history(offline_run)
    assert row["t"] == [1.0, 2.0]


def test_nan_and_infinities_are_kept_exactly(offline_run: Run) -> None:
    offline_run.log({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "nested": {"n": math.nan}})
    offline_run.log({"nan": 1.0})
    offline_run.finish()

    first, second = history(offline_run)
    assert math.isnan(first["nan"])
    assert first["inf"] == math.inf
    assert first["ninf"] == -math.inf
    assert math.isnan(first["nested"]["n"])
    assert second["nan"] == 1.0
    assert offline_run.summary["inf"] == math.inf


def test_numpy_nan_and_inf_are_kept(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.log({"nan": np.float32("nan"), "inf": np.float64("inf"), "ninf": np.array(-np.inf)})
    (row,) = flushed_history(offline_run)
    assert math.isnan(row["nan"])
    assert row["inf"] == math.inf
    assert row["ninf"] == -math.inf


def test_huge_ints_survive_as_floats(offline_run: Run) -> None:
    big = 2**70 + 12345
    offline_run.log({"big": big, "neg": -(2**80), "edge": 2**64, "fits": 2**64 - 1, "b": 1})
    (row,) = flushed_history(offline_run)

    assert row["big"] == pytest.approx(float(big))
    assert row["neg"] == pytest.approx(-float(2**80))
    assert row["edge"] == pytest.approx(float(2**64))
    assert row["fits"] == 2**64 - 1
    assert row["b"] == 1  # the rest of the row is untouched


def test_huge_int_inside_a_nested_value_survives(offline_run: Run) -> None:
    offline_run.log({"d": {"big": 3**50, "small": 2}, "lst": [1, 5**40]})
    (row,) = flushed_history(offline_run)
    assert row["d"]["big"] == pytest.approx(float(3**50))
    assert row["d"]["small"] == 2
    assert row["lst"][0] == 1
    assert row["lst"][1] == pytest.approx(float(5**40))


def test_nested_dicts_are_kept_nested(offline_run: Run) -> None:
    offline_run.log({"train": {"loss": 0.5, "acc": {"top1": 0.7, "top5": 0.9}}, "lr": 0.1})
    offline_run.log({"train": {"loss": 0.25, "acc": {"top1": 0.8, "top5": 0.95}}})

    assert flushed_history(offline_run) == [
        {"train": {"loss": 0.5, "acc": {"top1": 0.7, "top5": 0.9}}, "lr": 0.1, "_step": 0},
        {"train": {"loss": 0.25, "acc": {"top1": 0.8, "top5": 0.95}}, "_step": 1},
    ]
    assert offline_run.summary["train"] == {"loss": 0.25, "acc": {"top1": 0.8, "top5": 0.95}}


def test_nested_rows_read_back_flattened_through_the_public_api(
    offline_run: Run, trackwell_dir: Path
) -> None:
    offline_run.log({"train": {"loss": 0.5, "acc": {"top1": 0.7}}})
    offline_run.finish()

    api_run = trackwell.Api(root=trackwell_dir).run(f"test/{offline_run.id}")
    (row,) = api_run.history(pandas=False)
    assert row["train.loss"] == 0.5
    assert row["train.acc.top1"] == 0.7


def test_strings_bools_none_and_sequences_are_recorded(offline_run: Run) -> None:
    offline_run.log({"s": "hello", "t": True, "n": None, "lst": [1, 2.5, "x"], "tup": (1, 2), "r": range(3)})
    (row,) = flushed_history(offline_run)
    assert row["s"] == "hello"
    assert row["t"] is True
    assert row["n"] is None
    assert row["lst"] == [1, 2.5, "x"]
    assert row["tup"] == [1, 2]
    assert row["r"] == [0, 1, 2]


# -- bad input -----------------------------------------------------------------------------


def test_non_string_key_raises_and_logs_nothing_from_that_call(offline_run: Run) -> None:
    offline_run.log({"a": 1})

    with pytest.raises(TypeError, match="must be strings"):
        offline_run.log({"b": 2, 3: 4})
    with pytest.raises(TypeError):
        offline_run.log({("tuple", "key"): 1})
    with pytest.raises(TypeError):
        offline_run.log({"outer": {5: "inner non-string key"}, "c": 1})

    assert offline_run.step == 1
    offline_run.log({"d": 5})
    assert flushed_history(offline_run) == [{"a": 1, "_step": 0}, {"d": 5, "_step": 1}]
    assert "b" not in offline_run.summary
    assert "c" not in offline_run.summary


def test_non_string_key_keeps_the_pending_row_intact(offline_run: Run) -> None:
    offline_run.log({"a": 1}, commit=False)
    with pytest.raises(TypeError):
        offline_run.log({7: 1})
    offline_run.log({"b": 2})
    assert flushed_history(offline_run) == [{"a": 1, "b": 2, "_step": 0}]


def test_unserializable_value_is_dropped_with_a_warning_and_the_rest_kept(offline_run: Run) -> None:
    class Opaque:
        pass

    with pytest.warns(DataDroppedWarning, match="'weird'") as caught:
        offline_run.log({"weird": Opaque(), "loss": 0.5, "acc": 0.9})

    assert len(caught.list) == 1
    assert caught.list[0].filename == __file__
    assert flushed_history(offline_run) == [{"loss": 0.5, "acc": 0.9, "_step": 0}]


def test_unserializable_value_nested_in_a_dict_drops_only_that_leaf(offline_run: Run) -> None:
    with pytest.warns(DataDroppedWarning, match="cannot record"):
        offline_run.log({"d": {"bad": object(), "good": 1}, "x": 2})
    assert flushed_history(offline_run) == [{"d": {"good": 1}, "x": 2, "_step": 0}]


def test_row_with_only_an_unserializable_value_adds_no_step(offline_run: Run) -> None:
    with pytest.warns(DataDroppedWarning):
        offline_run.log({"bad": object()})
    offline_run.log({"ok": 1})
    assert flushed_history(offline_run) == [{"ok": 1, "_step": 0}]


def test_value_over_1mb_is_dropped_with_a_warning(offline_run: Run) -> None:
    with pytest.warns(DataDroppedWarning, match="1 MB") as caught:
        offline_run.log({"blob": "x" * 1_000_001, "loss": 0.1})

    assert len(caught.list) == 1
    assert "'blob'" in str(caught.list[0].message)
    assert caught.list[0].filename == __file__
    assert flushed_history(offline_run) == [{"loss": 0.1, "_step": 0}]


def test_value_just_under_1mb_is_kept(offline_run: Run) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        offline_run.log({"blob": "y" * 999_000})
    (row,) = flushed_history(offline_run)
    assert len(row["blob"]) == 999_000


def test_large_bytes_list_and_array_values_are_dropped(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    with pytest.warns(DataDroppedWarning) as caught:
        offline_run.log(
            {
                "bytes": b"\0" * 1_200_000,
                "list": [0.0] * 200_000,
                "array": np.zeros(200_000),
                "ok": 1,
            }
        )
    dropped = {k for k in ("bytes", "list", "array") if any(f"'{k}'" in str(w.message) for w in caught.list)}
    assert dropped == {"bytes", "list", "array"}
    assert flushed_history(offline_run) == [{"ok": 1, "_step": 0}]


def test_call_over_25mb_is_dropped_whole_with_a_warning(offline_run: Run) -> None:
    offline_run.log({"before": 1})
    chunk = "z" * 999_999  # each value is under the 1 MB limit; together they are not
    big = {f"part{i}": chunk for i in range(26)}
    big["loss"] = 0.5

    with pytest.warns(DataDroppedWarning, match="25 MB") as caught:
        offline_run.log(big)

    assert len(caught.list) == 1
    assert caught.list[0].filename == __file__
    assert offline_run.step == 1
    offline_run.log({"after": 2})
    assert flushed_history(offline_run) == [{"before": 1, "_step": 0}, {"after": 2, "_step": 1}]
    assert "loss" not in offline_run.summary


def test_call_just_under_25mb_is_kept(offline_run: Run) -> None:
    chunk = "z" * 999_999
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        offline_run.log({f"part{i}": chunk for i in range(24)})
    (row,) = flushed_history(offline_run)
    assert len(row) == 24 + 1


# -- the run's lifetime ------------------------------------------------------------------


def test_log_after_finish_raises_and_keeps_earlier_rows(offline_run: Run) -> None:
    offline_run.log({"a": 1})
    offline_run.log({"a": 2})
    offline_run.finish()

    with pytest.raises(RunFinishedError):
        offline_run.log({"a": 3})
    assert issubclass(RunFinishedError, UsageError)

    assert history(offline_run) == [{"a": 1, "_step": 0}, {"a": 2, "_step": 1}]
    assert [r.kind for r in log_records(offline_run)][-1] == "exit"


def test_module_level_log_before_init_raises(trackwell_dir: Path) -> None:
    assert trackwell.run is None
    with pytest.raises(UsageError, match="init"):
        trackwell.log({"a": 1})
    assert not (trackwell_dir / "trackwell").exists()


def test_module_level_log_writes_to_the_current_run(offline_run: Run) -> None:
    trackwell.log({"a": 1})
    trackwell.log({"b": 2}, step=4, commit=True)
    assert flushed_history(offline_run) == [{"a": 1, "_step": 0}, {"b": 2, "_step": 4}]


def test_threads_logging_together_get_unique_contiguous_steps(offline_run: Run) -> None:
    n_threads, per_thread = 8, 400
    start = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(tid: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                offline_run.log({"thread": tid, "i": i})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    offline_run.finish()

    rows = history(offline_run)
    steps = [r["_step"] for r in rows]
    assert sorted(steps) == list(range(n_threads * per_thread))
    assert steps == sorted(steps)  # written in step order
    for tid in range(n_threads):
        mine = [r["i"] for r in rows if r["thread"] == tid]
        assert mine == list(range(per_thread))  # each thread's rows, all there, in its order


def test_threads_mixing_commit_false_and_plain_logs_lose_nothing(offline_run: Run) -> None:
    n_threads, per_thread = 4, 200

    def work(tid: int) -> None:
        for i in range(per_thread):
            offline_run.log({f"t{tid}": i}, commit=(i % 2 == 1))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    offline_run.finish()

    rows = history(offline_run)
    steps = [r["_step"] for r in rows]
    assert steps == list(range(len(rows)))
    for tid in range(n_threads):
        # each odd i was a committing call, merged and committed under one lock: its row exists
        values = [r[f"t{tid}"] for r in rows if f"t{tid}" in r]
        assert values == sorted(values)
        assert set(range(1, per_thread, 2)) <= set(values)
