"""Import TensorBoard logdirs into trackwell runs (``trackwell import tensorboard LOGDIR``)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackwell.extend import run_directory
from trackwell_tensorboard.convert import Converted, MediaFile, convert_event
from trackwell_tensorboard.events import event_files, read_events

if TYPE_CHECKING:
    from trackwell.extend import Run

#: Where GIFs and non-PCM audio are staged inside the run directory (see ``save_media``).
STAGING = Path("tmp") / "tensorboard"


def save_media(run: Run, media: Sequence[MediaFile]) -> dict[str, Any]:
    """Stage the files of GIFs and non-PCM audio in the run directory; the row values
    (``trackwell.Video`` lists, ``trackwell.Audio``) made from them.

    The media types copy the file into ``files/media/`` on trackwell's writer thread;
    the staged copy only has to outlive the run, so it lives in the run's ``tmp/``.
    """
    if not media or run.disabled:
        return {}
    import trackwell

    target = run_directory(run) / STAGING
    target.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for item in media:
        path = target / item.name
        path.write_bytes(item.data)
        if item.kind == "video":
            out.setdefault(item.key, []).append(trackwell.Video(str(path), format="gif"))
        else:
            out[item.key] = trackwell.Audio(str(path), sample_rate=item.sample_rate)
    return out


def prefix_for(logdir: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> str:
    """The key prefix of a logdir: its path relative to ``root`` ("" when it is the root)."""
    if root is None:
        return ""
    try:
        rel = os.path.relpath(os.path.abspath(logdir), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        return ""
    return "" if rel == "." or rel.startswith("..") else rel.replace(os.sep, "/")


@dataclass
class ImportResult:
    """What ``import_logdir`` did."""

    run: Run
    files: int = 0
    events: int = 0
    steps: int = 0
    values: int = 0  # values logged, media included
    media: int = 0  # media objects among them: histograms, images (each of a list), audio, charts
    config: dict[str, Any] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


def import_logdir(
    logdir: str | os.PathLike[str],
    run: Run | None = None,
    *,
    project: str | None = None,
    name: str | None = None,
    entity: str | None = None,
    mode: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    save_event_files: bool = True,
) -> ImportResult:
    """Import every event file under ``logdir`` into a run.

    Without ``run``, a new run is created (project ``tensorboard`` and the logdir's
    name unless given), its steps are the TensorBoard steps, and it is finished at the
    end. With ``run``, rows are added to it with the TensorBoard step as
    ``global_step``. Event files in sub-folders prefix their keys with the sub-folder
    (``train/loss``, ``eval/loss``), as TensorBoard shows them as separate runs.
    """
    import trackwell

    root = os.fspath(logdir)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"no TensorBoard logdir at {root}")
    files = event_files(root)
    if not files:
        raise FileNotFoundError(f"no event files (*tfevents*) under {root}")
    own_run = run is None
    if run is None:
        run = trackwell.init(
            project=project or "tensorboard",
            name=name or os.path.basename(os.path.abspath(root)),
            entity=entity,
            mode=mode,
            dir=dir,
            config=dict(config or {}),
            tags=list(tags or ()),
            job_type="tensorboard-import",
            reinit="create_new",
        )
    result = ImportResult(run=run, files=len(files))
    by_step: dict[int, Converted] = {}
    hyper: dict[str, Any] = {}
    for path in files:
        prefix = prefix_for(os.path.dirname(path), root)
        for event in read_events(path):
            result.events += 1
            if not event.values:
                continue
            converted = convert_event(event, prefix)
            hyper.update(converted.config)
            result.skipped.update(converted.skipped)
            if not converted.values and not converted.media:
                continue
            merged = by_step.setdefault(event.step, Converted())
            for key, value in converted.values.items():
                previous = merged.values.get(key)
                if isinstance(value, list) and isinstance(previous, list):
                    value = previous + value  # TF1's name/image/0, name/image/1 in two events
                merged.values[key] = value
            merged.media += converted.media
            merged.made += converted.made
    try:
        if hyper:
            run.config.update(hyper, allow_val_change=True)
            result.config = hyper
        for step in sorted(by_step):
            converted = by_step[step]
            result.media += converted.count_media()
            result.values += len(converted.values)
            row = {**converted.values, **save_media(run, converted.media), "global_step": step}
            if own_run and step >= 0:
                run.log(row, step=step)
            else:
                run.log(row)
        result.steps = len(by_step)
        if save_event_files:
            for path in files:
                run.save(path, base_path=root, policy="now")
    finally:
        if own_run:
            run.finish()
    return result
