"""The writer encodes media through their own interface (``to_record``, ``list_record``),
handed to it by the session: it knows no media type (tests/arch/test_pipeline_sealed.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trackwell
from trackwell import rundir
from trackwell._pipeline.runlog import Kind, read_log
from trackwell.media.base import Media, MediaContext


class Note(Media):
    """A media type of a test's own: one record per note, one record for a list of them."""

    _type = "note"

    def __init__(self, text: str) -> None:
        self.text = text

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return {"_type": "note", "text": self.text}

    @classmethod
    def list_record(cls, values: list[Any], ctx: MediaContext) -> Any:
        if not all(isinstance(v, Note) for v in values):
            return super().list_record(values, ctx)
        return {"_type": "notes", "texts": [v.text for v in values]}


def _rows(run: trackwell.Run) -> list[dict[str, Any]]:
    log = rundir.find_log(Path(run.dir).parent)
    assert log is not None
    return [r.body for r in read_log(log).records if r.kind == Kind.HISTORY]


def test_a_list_is_encoded_by_its_first_items_type(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p", settings={"console": "off"})
    run.log({"one": Note("a"), "many": [Note("b"), Note("c")], "mixed": [Note("d"), 3], "plain": [3, Note("e")]})
    run.finish()
    (row,) = _rows(run)
    assert row["one"] == {"_type": "note", "text": "a"}
    assert row["many"] == {"_type": "notes", "texts": ["b", "c"]}  # Note.list_record
    assert row["mixed"] == [{"_type": "note", "text": "d"}, 3]  # the base class's list_record
    assert row["plain"] == [3, {"_type": "note", "text": "e"}]  # not led by a media object
