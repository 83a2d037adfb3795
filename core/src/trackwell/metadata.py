"""Facts about where and how a run ran: host, OS, Python, program, git, packages.

Collected on the writer thread (git and package listing take tens of milliseconds,
which ``init()`` must not pay).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trackwell.settings import Settings


def _git(*args: str, cwd: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def program_path() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.abspath(path) if path else None


def collect_metadata(settings: Settings, files_dir: Path) -> dict[str, Any]:
    """Gather metadata, write ``metadata.json`` (and code files) into ``files_dir``."""
    cwd = os.getcwd()
    program = program_path()
    meta: dict[str, Any] = {
        "host": settings.host or socket.gethostname(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "program": program,
        "args": list(sys.argv[1:]),
        "cwd": cwd,
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": None,
    }
    if not settings.disable_git and shutil.which("git"):
        commit = _git("rev-parse", "HEAD", cwd=cwd)
        if commit:
            meta["git"] = {
                "commit": commit,
                "branch": _git("rev-parse", "--abbrev-ref", "HEAD", cwd=cwd),
                "remote": _git("config", "--get", "remote.origin.url", cwd=cwd),
                "root": _git("rev-parse", "--show-toplevel", cwd=cwd),
            }
            if settings.save_code and not settings.disable_code:
                diff = _git("diff", "HEAD", cwd=cwd)
                if diff:
                    (files_dir / "diff.patch").write_text(diff + "\n", encoding="utf-8")
                    meta["git"]["diff"] = "diff.patch"
    if settings.save_code and not settings.disable_code and program and os.path.isfile(program):
        code_dir = files_dir / "code"
        code_dir.mkdir(exist_ok=True)
        shutil.copy2(program, code_dir / os.path.basename(program))
        meta["code_path"] = f"code/{os.path.basename(program)}"
    _write_requirements(files_dir / "requirements.txt")  # saved by default, as W&B does
    with open(files_dir / "metadata.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
    with open(files_dir / "wandb-metadata.json", "w", encoding="utf-8") as fh:
        json.dump(wandb_metadata(meta), fh, indent=1)
    return meta


def wandb_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` in the shape of W&B's ``wandb-metadata.json``, where W&B users' tools read it."""
    git = meta.get("git") or {}
    program = meta.get("program")
    root = git.get("root") or meta["cwd"]
    out: dict[str, Any] = {
        "os": meta["os"],
        "python": f"{meta['python_implementation']} {meta['python']}",
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "args": meta["args"],
        "program": program,
        "root": root,
        "host": meta["host"],
        "executable": meta["executable"],
        "cpu_count": meta["cpu_count"],
        "cpu_count_logical": meta["cpu_count"],
    }
    if program and os.path.abspath(program).startswith(os.path.abspath(root) + os.sep):
        out["codePath"] = os.path.relpath(program, root)
    if git.get("commit"):
        out["git"] = {"remote": git.get("remote"), "commit": git["commit"]}
    return out


def _write_requirements(path: Path) -> None:
    from importlib.metadata import distributions

    names = set()
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            names.add(f"{name}=={dist.version}")
    path.write_text("\n".join(sorted(names, key=str.lower)) + "\n", encoding="utf-8")
