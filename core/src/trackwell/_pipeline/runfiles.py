"""The run's ``files/`` folder as the writer keeps it: ``run.save()`` copies (now, live,
at the end), the console's ``output.log`` and ``config.yaml``.

Only the writer thread calls these, between batches, so nothing here locks.
"""

from __future__ import annotations

import glob as globlib
import os
import shutil
from pathlib import Path
from typing import Any


class RunFiles:
    """The files of one run, under ``files_dir``."""

    def __init__(self, files_dir: Path) -> None:
        self.dir = files_dir
        self._out: Any = None  # files/output.log, opened at the first console output
        self._live: dict[str, tuple[Path, Path, float]] = {}  # rel -> (source, copy, source mtime)
        self._end: list[tuple[str, Path | None]] = []  # save(policy="end") patterns

    def save(self, pattern: str, base: str | None, policy: str) -> list[str]:
        """``run.save()``: copy the matches now (``now``, ``live``: again whenever they
        change) or remember the pattern for the end; returns the paths copied."""
        if policy == "end":
            self._end.append((pattern, Path(base) if base else None))
            return []
        return self._copy_matches(pattern, Path(base) if base else None, live=policy == "live")

    def save_end(self) -> list[str]:
        """Copy the ``end`` patterns' matches and the live files that changed; returns the
        paths the ``end`` patterns copied."""
        saved = []
        for pattern, base in self._end:
            saved += self._copy_matches(pattern, base)
        self.refresh_live()
        return saved

    def _copy_matches(self, pattern: str, base: Path | None, live: bool = False) -> list[str]:
        saved = []
        for src in sorted(globlib.glob(pattern, recursive=True)):
            path = Path(src)
            if not path.is_file():
                continue
            rel = _relative_name(path, base)
            dest = self.dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            saved.append(rel.as_posix())
            if live:
                self._live[rel.as_posix()] = (path, dest, path.stat().st_mtime)
        return saved

    def refresh_live(self) -> None:
        """Copy again each ``live`` file whose source changed since its last copy."""
        for rel, (src, dest, mtime) in list(self._live.items()):
            try:
                now = src.stat().st_mtime
            except OSError:
                continue
            if now != mtime:
                shutil.copy2(src, dest)
                self._live[rel] = (src, dest, now)

    def write_output(self, text: str) -> None:
        """Append captured console output to ``output.log``."""
        if self._out is None:
            self._out = open(self.dir / "output.log", "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._out.write(text)

    def flush_output(self) -> None:
        if self._out is not None:
            self._out.flush()

    def close_output(self) -> None:
        if self._out is not None:
            self._out.close()


def _relative_name(path: Path, base: Path | None) -> Path:
    """Where a saved file goes under files/: relative to base, never outside it."""
    if base is not None:
        try:
            rel = path.resolve().relative_to(base.resolve())
        except ValueError:
            rel = Path(path.name)
    elif not path.is_absolute():
        rel = Path(os.path.normpath(path))
    else:
        rel = Path(path.name)
    if rel.is_absolute() or ".." in rel.parts:
        rel = Path(path.name)
    return rel


def write_config_yaml(path: Path, config: dict[str, Any]) -> None:
    """Write config.yaml in W&B's shape (``key: {value: ...}``) so tools read it back."""
    import yaml

    doc: dict[str, Any] = {"trackwell_version": 1}
    doc.update({key: {"desc": None, "value": value} for key, value in config.items()})
    tmp = path.with_suffix(".yaml.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True)
    os.replace(tmp, path)
