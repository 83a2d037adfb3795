"""A value that cannot be stored is refused alone, loudly, and never costs its neighbours.

Offline runs, read back from the run log: the run header, the config and every other
row must be there, with a ``DataDroppedWarning`` naming the refused key and its step.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell import limits
from trackwell._pipeline.runlog import Record, read_log
from trackwell.errors import DataDroppedWarning
from trackwell.run import Run


@pytest.fixture
def run(trackwell_dir: Path) -> Iterator[Run]:
    run = trackwell.init(project="p", mode="offline", config={"lr": 0.1}, settings={"console": "off"})
    yield run
    if not run._finished:
        run.finish()


@pytest.fixture(autouse=True)
def default_limits() -> Iterator[None]:
    limits.reset()
    yield
    limits.reset()


def records(run: Run) -> list[Record]:
    assert run.flush(timeout=30)
    (log,) = Path(run._run_dir).glob("run-*.twlog")
    result = read_log(log)
    assert result.torn_bytes == 0
    return result.records


def rows(run: Run) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.body.items() if k not in ("_timestamp", "_runtime")}
        for r in records(run)
        if r.kind == "history"
    ]


def log_around(run: Run, bad: dict[str, Any], **kwargs: Any) -> list[warnings.WarningMessage]:
    """100 good rows, the bad one, 5 good rows; the warnings the bad one raised."""
    for i in range(100):
        run.log({"x": i})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log(bad, **kwargs)
        for i in range(5):
            run.log({"y": i})
        assert run.flush(timeout=30)
    return [w for w in caught if issubclass(w.category, DataDroppedWarning)]


def assert_neighbours_kept(run: Run) -> None:
    kinds = Counter(r.kind for r in records(run))
    assert kinds["run"] == 1 and kinds["config"] >= 1, kinds
    got = rows(run)
    assert [r["x"] for r in got if "x" in r] == list(range(100))
    assert [r["y"] for r in got if "y" in r] == list(range(5))
    seqs = [r.seq for r in records(run)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the log's seqs must stay contiguous"


def test_an_empty_key_is_refused_alone_at_log(run: Run) -> None:
    caught = log_around(run, {"": 1.0, "kept": 2.0})
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "''" in message and "step 100" in message
    assert caught[0].filename == __file__, "the warning points at the caller's line"
    assert_neighbours_kept(run)
    assert {"kept": 2.0, "_step": 100} in rows(run)


@pytest.mark.parametrize("where", ["value", "key", "nested", "config"])
def test_a_lone_surrogate_is_stored_escaped(run: Run, where: str) -> None:
    name = os.fsdecode(b"weights-\x80.pt")  # what a non-UTF-8 file name becomes: "\udc80"
    assert "\udc80" in name
    bad = {
        "value": {"file": name},
        "key": {name: 1.0},
        "nested": {"files": [name, {"inner": name}]},
        "config": {},
    }[where]
    if where == "config":
        run.config.update({"file": name})
        bad = {"z": 1}
    caught = log_around(run, bad)
    assert caught == [], "strings are always storable: nothing is dropped"
    assert_neighbours_kept(run)
    escaped = "weights-\\udc80.pt"
    (row,) = [r for r in rows(run) if r["_step"] == 100]
    if where == "value":
        assert row["file"] == escaped
    elif where == "key":
        assert row[escaped] == 1.0
    elif where == "nested":
        assert row["files"] == [escaped, {"inner": escaped}]
    else:
        (config,) = [r.body for r in records(run) if r.kind == "config" and "file" in (r.body.get("update") or {})]
        assert config["update"]["file"] == escaped


def test_step_past_64_bits_is_refused_at_log(run: Run) -> None:
    caught = log_around(run, {"far": 1.0}, step=2**63)
    assert len(caught) == 1
    assert "step 9223372036854775808" in str(caught[0].message) and "'far'" in str(caught[0].message)
    assert_neighbours_kept(run)
    assert not any("far" in r for r in rows(run))
    run.log({"last": 1}, step=2**63 - 1, commit=True)  # the largest step is fine
    assert rows(run)[-1] == {"last": 1, "_step": 2**63 - 1}


def test_a_nul_or_overlong_key_is_refused_alone(run: Run) -> None:
    long_key = "k" * (limits.current().max_key_chars + 1)
    caught = log_around(run, {"a\x00b": 1.0, long_key: 2.0, "kept": 3.0})
    messages = " | ".join(str(w.message) for w in caught)
    assert len(caught) == 1, messages  # one warning for the row's refused keys
    assert "NUL" in messages and "characters" in messages and "step 100" in messages
    assert_neighbours_kept(run)
    assert {"kept": 3.0, "_step": 100} in rows(run)


def test_more_keys_than_a_run_may_hold_refuses_only_the_new_keys(run: Run) -> None:
    most = limits.current().max_keys
    run.log({"x": 0})  # x, _timestamp and _runtime: the server counts every key but _step
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log({f"k{i}": float(i) for i in range(most + 1)})
        run.log({"x": 2, "new": 1})
        assert run.flush(timeout=30)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataDroppedWarning)]
    assert len(messages) == 2, messages  # one for the keys past the limit, one for 'new'
    assert all("distinct keys" in m for m in messages)
    assert "4 keys ('k9997'" in messages[0] and "at step 1 " in messages[0]
    assert "'new' at step 2" in messages[1]
    got = rows(run)
    assert len(got[1]) - 1 == most - 3
    assert got[2] == {"x": 2, "_step": 2}


def test_a_nested_dict_counts_as_its_flattened_keys(run: Run) -> None:
    limits.update({"max_keys": 50})
    caught = log_around(run, {"big": {f"f{i}": float(i) for i in range(100)}, "small": 1.0})
    assert len(caught) == 1 and "'big'" in str(caught[0].message)
    (row,) = [r for r in rows(run) if r["_step"] == 100]
    assert row == {"small": 1.0, "_step": 100}


def test_a_nested_list_over_the_value_limit_is_refused_at_log(run: Run) -> None:
    limits.update({"max_value_bytes": 100_000})
    rows_of_floats = [[float(i)] * 1000 for i in range(30)]  # each inner list is small, together not
    caught = log_around(run, {"matrix": rows_of_floats, "kept": 1})
    assert len(caught) == 1 and "'matrix'" in str(caught[0].message) and "step 100" in str(caught[0].message)
    assert {"kept": 1, "_step": 100} in rows(run)


def test_a_string_inside_a_list_over_the_value_limit_is_refused(run: Run) -> None:
    caught = log_around(run, {"texts": ["a" * (limits.current().max_value_bytes + 10)], "kept": 1})
    assert len(caught) == 1 and "'texts'" in str(caught[0].message) and "step 100" in str(caught[0].message)
    (row,) = [r for r in rows(run) if r["_step"] == 100]
    assert row["kept"] == 1 and not row.get("texts")


def test_the_writer_refuses_a_value_whose_encoding_is_over_the_limit(run: Run) -> None:
    # Under the log()-time estimate (characters), over the limit once encoded (UTF-8
    # bytes, as the server sizes a list): the writer measures and refuses the value.
    limits.update({"max_value_bytes": 50_000})
    caught = log_around(run, {"words": ["漢" * 20] * 1000, "kept": 1})
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "'words'" in str(caught[0].message) and "step 100" in str(caught[0].message)
    assert_neighbours_kept(run)
    assert {"kept": 1, "_step": 100} in rows(run)


def test_limits_update_ignores_malformed_values() -> None:
    new = limits.update({"max_keys": 20, "max_value_bytes": -1, "max_step": "x", "unknown": 5})
    assert new.max_keys == 20 and new.max_value_bytes == limits.MAX_VALUE_BYTES
    assert limits.current() is new
    assert limits.update({"max_body_bytes": 1_000_000}).max_record_bytes < 1_000_000
