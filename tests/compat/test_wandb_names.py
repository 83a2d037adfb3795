"""Every W&B name that W&B's documentation uses resolves here: no AttributeError for a documented name.

The names below are those W&B's docs (../shared/reference: models-docs.md, handbook.md,
skill-guide.md) call in their code and prose, grouped by the object they belong to, each with
where it is documented. Each is looked up on the real object (a module attribute, an offline
run, Public API objects read from a real server): an AttributeError is the failure. Every name
listed works today, so none is stubbed with ``NotImplementedError``. Names another piece of
issue 19 builds (the local sweep controller, ``Artifact.save``/``link``, a Public API run's
``use_artifact``/``log_artifact``) are in ``OTHER_PIECE``: checked like the rest.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackwell as wandb
import trackwell.artifacts

# -- the documented names, by object ---------------------------------------------------------------

#: ``wandb.<name>`` (dotted: an attribute of that object).
MODULE = {
    "init": "models-docs 1.1 and everywhere",
    "log": "models-docs 'Log objects and media'",
    "finish": "models-docs, handbook",
    "config": "models-docs 'Configure experiments'",
    "config.update": "models-docs 'Configure experiments'",
    "config.get": "models-docs 'Configure experiments'",
    "summary": "models-docs 'Log summary metrics' (wandb.summary)",
    "run": "skill-guide (wandb.run.summary)",
    "define_metric": "models-docs 'Customize log axes', skill-guide",
    "alert": "models-docs 'Send alerts', skill-guide",
    "AlertLevel": "models-docs 'Send alerts'",
    "AlertLevel.INFO": "models-docs 'Send alerts'",
    "AlertLevel.WARN": "models-docs 'Send alerts'",
    "login": "handbook 'API keys', models-docs quickstart",
    "setup": "models-docs 'Distributed training'",
    "require": "models-docs 'Distributed training'",
    "Api": "models-docs 'Import and export data'",
    "CommError": "models-docs 'Error Handling' (Public API)",
    "Artifact": "models-docs 'Artifacts'",
    "use_artifact": "skill-guide 'Artifacts'",
    "log_artifact": "skill-guide 'Artifacts'",
    "sweep": "models-docs 'Sweeps', handbook",
    "agent": "models-docs 'Sweeps', handbook",
    "Table": "models-docs 'Tables'",
    "Table.MAX_ROWS": "models-docs 'Log tables' (row limit)",
    "JoinedTable": "models-docs 'Tables' (join tables)",
    "Image": "models-docs 'Log media'",
    "Audio": "models-docs 'Log media'",
    "Video": "models-docs 'Log media'",
    "Html": "models-docs 'Log media'",
    "Histogram": "models-docs 'Log media'",
    "Object3D": "models-docs 'Log media' (3D)",
    "Object3D.from_file": "models-docs 'Log media' (3D)",
    "Object3D.from_numpy": "models-docs 'Log media' (3D)",
    "Object3D.from_point_cloud": "models-docs 'Log media' (3D)",
    "Molecule": "models-docs 'Log media' (molecules)",
    "Molecule.from_rdkit": "models-docs 'Log media' (molecules)",
    "Molecule.from_smiles": "models-docs 'Log media' (molecules)",
    "plot": "models-docs 'Create and track plots'",
    "plot.line": "models-docs 'Create and track plots'",
    "plot.scatter": "models-docs 'Create and track plots'",
    "plot.histogram": "models-docs 'Create and track plots'",
    "plot.line_series": "models-docs 'Create and track plots'",
    "plot.pr_curve": "models-docs 'Create and track plots'",
    "plot.roc_curve": "models-docs 'Create and track plots'",
    "plot.confusion_matrix": "models-docs 'Create and track plots'",
    "plot_table": "models-docs 'Custom charts'",
    "util.generate_id": "models-docs 'Resume a run' (wandb.util.generate_id())",
    "WBValue": "models-docs 'Track a model' (# Add wandb.WBValue obj to the artifact)",
    "Media": "models-docs 'Limits' (wandb.Media types like wandb.Image)",
    "integration.keras": "handbook, models-docs (from wandb.integration.keras import ...)",
    "apis.importers": "models-docs 'Import data from MLFlow' (from wandb.apis.importers import Namespace)",
}

#: The run ``wandb.init()`` returns (``wandb.init.Run`` in the docs).
RUN = {
    "log": "models-docs, skill-guide",
    "config": "skill-guide (run.config.learning_rate)",
    "summary": "skill-guide (run.summary[...])",
    "name": "handbook (run.name)",
    "tags": "models-docs 'Add tags to runs' (run.tags)",
    "finish": "models-docs",
    "alert": "models-docs 'Send alerts' (run.alert)",
    "log_artifact": "models-docs 'Artifacts' (run.log_artifact)",
    "use_artifact": "models-docs 'Artifacts' (run.use_artifact)",
    "link_artifact": "models-docs 'Registry' (run.link_artifact)",
    "log_model": "models-docs 'Models' (run.log_model)",
    "use_model": "models-docs 'Models' (run.use_model)",
    "link_model": "models-docs 'Models' (run.link_model)",
    "define_metric": "handbook (wandb.define_metric on the run)",
    "entity": "issue 19 item 1 (run.entity after init)",
    "log_code": "issue 19 item 3 (run.log_code)",
    "mark_preempting": "issue 19 item 3 (run.mark_preempting)",
}

#: A ``wandb.Table``.
TABLE = {
    "add_data": "models-docs 'Tables'",
    "add_column": "models-docs 'Tables'",
    "get_column": "models-docs 'Tables'",
    "iterrows": "models-docs 'Tables' (resume a table)",
    "add_computed_columns": "models-docs 'Tables'",
    "data": "models-docs 'Tables' (table.data)",
    "columns": "models-docs 'Tables' (table.columns)",
    "MAX_ROWS": "issue 19 item 4",
}

#: A ``wandb.Artifact`` built in a script.
ARTIFACT = {
    "add": "models-docs 'Track a model' (artifact.add(table, name))",
    "add_file": "models-docs 'Artifacts'",
    "add_dir": "handbook 'Artifacts'",
    "download": "models-docs, handbook",
    "get": "models-docs 'Tables' (artifact.get(name))",
    "metadata": "handbook (model_artifact.metadata = ...)",
    "tags": "models-docs 'Registry' (artifact.tags)",
    "description": "models-docs 'Registry' (description)",
    "file": "issue 19 item 5 (Artifact.file())",
}

#: ``wandb.Api()`` against a server.
API = {
    "run": "models-docs 'Public API' (api.run)",
    "runs": "models-docs 'Querying Multiple Runs' (api.runs)",
    "flush": "models-docs 'Export Run Data' (api.flush())",
    "sweep": "models-docs 'Get runs from a specific sweep' (api.sweep)",
    "project": "models-docs 'Registry' (wandb.Api().project(...))",
    "artifact": "models-docs 'Registry' (api.artifact)",
    "artifacts": "models-docs 'Registry' (api.artifacts)",
    "artifact_collection": "models-docs 'Registry' (api.artifact_collection)",
    "artifact_versions": "issue 19 item 5 (api.artifact_versions)",
}

#: A run read through the Public API (``wandb.Api.Run`` in the docs).
API_RUN = {
    "config": "models-docs 'Export Run Data'",
    "summary": "models-docs 'Export Run Data'",
    "summary.update": "models-docs 'Update summary metrics' (summary.update({...}))",
    "summary.get": "models-docs 'Download the best model file from a sweep'",
    "config.items": "models-docs 'Querying Multiple Runs' (run.config.items())",
    "history": "models-docs 'Export Run Data'",
    "scan_history": "models-docs 'Get unsampled metric data'",
    "state": "models-docs 'Read metrics from a run' (run.state)",
    "name": "models-docs 'Querying Multiple Runs' (.name)",
    "created_at": "models-docs 'Get the starting time for a run'",
    "commit": "models-docs 'Get the latest git commit through the API'",
    "files": "models-docs 'Download all files from a run'",
    "file": "models-docs 'Get the command that ran the run'",
}

#: What ``api.runs(...)`` returns.
API_RUNS = {
    "__len__": "models-docs 'Querying Multiple Runs' (len(runs))",
    "__iter__": "models-docs 'Querying Multiple Runs' (for run in runs)",
    "cursor": "issue 19 item 5 (paginators)",
    "more": "issue 19 item 5 (paginators)",
    "length": "issue 19 item 5 (paginators)",
}

#: A run's file through the Public API.
API_FILE = {
    "download": "models-docs 'Download a file from a run'",
    "delete": "models-docs 'Delete all files with a given extension from a run'",
    "name": "models-docs 'Delete all files with a given extension' (file.name)",
}

#: ``api.artifact(name)``: a logged artifact version.
API_ARTIFACT = {
    "tags": "models-docs 'Registry' (artifact.tags = [...] on wandb.Api().artifact(...))",
    "download": "models-docs 'Registry' (download an artifact linked to a registry)",
    "get": "models-docs 'Tables' (fetch a table from a logged artifact)",
    "metadata": "handbook, models-docs 'Artifacts'",
    "description": "models-docs 'Registry'",
}

#: ``api.sweep(path)``.
API_SWEEP = {
    "runs": "models-docs 'Get runs from a specific sweep' (sweep.runs)",
    "best_run": "models-docs 'Get the best run from a sweep'",
}

#: ``api.project(name)``.
API_PROJECT = {
    "artifact_types": "models-docs 'Registry' (project(...).artifact_types())",
}

#: ``api.artifact_collection(type, name)``.
API_COLLECTION = {
    "tags": "models-docs 'Registry' (collection.tags)",
    "description": "models-docs 'Registry' (collection.description)",
    "save": "models-docs 'Registry' (collection.save())",
}

#: ``wandb.CommError``.
COMM_ERROR = {
    "exc": "models-docs 'Error Handling' (the exc attribute)",
}

#: Built by another piece of issue 19: checked here the same way.
OTHER_PIECE = {
    "controller": ("module", "models-docs 'Local controller' (wandb.controller(sweep_id))"),
    "controller.run": ("controller", "models-docs 'Local controller' (the returned object's run method)"),
    "controller.done": ("controller", "models-docs 'Local controller' (while not sweep.done())"),
    "controller.configure_parameter": ("controller", "models-docs 'Local controller'"),
    "controller.configure_controller": ("controller", "issue 19 item 5 (configure_controller(...))"),
    "Artifact.save": ("artifact", "issue 19 item 5 (Artifact.save() without a run)"),
    "Artifact.link": ("artifact", "issue 19 item 5 (Artifact.link())"),
    "Run.use_artifact": ("api_run", "issue 19 item 5 (use_artifact on a Public API run)"),
    "Run.log_artifact": ("api_run", "issue 19 item 5 (log_artifact on a Public API run)"),
}

# -- the objects ------------------------------------------------------------------------------------


def _resolve(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)  # an AttributeError here is the failure this file guards against
    return obj


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory, trackwell_server: Any) -> Iterator[dict[str, Any]]:
    """One of each documented object: a run logged to a real server, read back by the Public API.

    ``trackwell.artifacts`` is imported with the module, before any run's threads start:
    CPython 3.11 can fail with "AST constructor recursion depth mismatch" when two
    threads compile source at once, which a fresh checkout (no .pyc yet) makes likely.
    """
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("names")
    mp.chdir(root)
    for name in ("MODE", "PROJECT", "ENTITY", "DIR", "RUN_ID", "RESUME"):
        for prefix in ("TRACKWELL_", "WANDB_"):
            mp.delenv(prefix + name, raising=False)
    mp.setenv("TRACKWELL_CONFIG_DIR", str(root / ".config"))
    mp.setenv("TRACKWELL_CACHE_DIR", str(root / ".cache"))
    mp.setenv("TRACKWELL_X_DISABLE_STATS", "true")
    mp.setenv("TRACKWELL_SILENT", "true")
    mp.setenv("TRACKWELL_BASE_URL", trackwell_server.url)
    mp.setenv("TRACKWELL_API_KEY", trackwell_server.admin_key)
    try:
        project = f"names-{uuid.uuid4().hex[:6]}"
        run = wandb.init(project=project)
        run.log({"loss": 0.5})
        (root / "data.txt").write_text("x")
        art = wandb.Artifact("data", type="dataset")
        art.add_file(str(root / "data.txt"))
        run.log_artifact(art)
        run.finish()
        sweep_id = wandb.sweep({"method": "grid", "parameters": {"a": {"values": [1]}}}, project=project)
        api = wandb.Api()
        api_run = api.run(f"{run.entity}/{project}/{run.id}")
        offline = wandb.init(mode="offline", project=project)  # live: wandb.config etc. need one
        objs = {
            "module": wandb,
            "run": offline,
            "table": wandb.Table(columns=["a"], data=[[1]]),
            "artifact": wandb.Artifact("built", type="dataset"),
            "api": api,
            "api_run": api_run,
            "api_runs": api.runs(f"{run.entity}/{project}"),
            "api_file": api_run.files()[0],
            "api_artifact": api.artifact(f"{run.entity}/{project}/data:latest"),
            "api_sweep": api.sweep(f"{run.entity}/{project}/{sweep_id}"),
            "api_project": api.project(project, entity=run.entity),
            "api_collection": api.artifact_collection("dataset", f"{run.entity}/{project}/data"),
            "comm_error": wandb.CommError("boom"),
            "controller": wandb.controller(),
        }
        yield objs
        offline.finish()
    finally:
        mp.undo()


GROUPS = {
    "module": MODULE,
    "run": RUN,
    "table": TABLE,
    "artifact": ARTIFACT,
    "api": API,
    "api_run": API_RUN,
    "api_runs": API_RUNS,
    "api_file": API_FILE,
    "api_artifact": API_ARTIFACT,
    "api_sweep": API_SWEEP,
    "api_project": API_PROJECT,
    "api_collection": API_COLLECTION,
    "comm_error": COMM_ERROR,
}
CASES = [(group, name) for group, names in GROUPS.items() for name in names]
CASES += [(group, name.rsplit(".", 1)[-1]) for name, (group, _) in OTHER_PIECE.items()]


def test_the_list_is_the_docs() -> None:
    """Each name cites where W&B documents it, and none is listed twice in a group."""
    for names in GROUPS.values():
        assert all(where.strip() for where in names.values())
    assert len(CASES) == len(set(CASES))


@pytest.mark.parametrize(("group", "name"), CASES, ids=[f"{g}.{n}" for g, n in CASES])
def test_documented_name_resolves(objects: dict[str, Any], group: str, name: str) -> None:
    _resolve(objects[group], name)


def test_util_generate_id_makes_run_ids(trackwell_dir: Path) -> None:
    run_id = wandb.util.generate_id()
    assert re.fullmatch(r"[a-z0-9]{8}", run_id)
    assert len(wandb.util.generate_id(length=12)) == 12
    run = wandb.init(mode="offline", id=run_id, reinit="create_new")  # the docs' use: an id to resume with
    run.finish()
    assert run.id == run_id


def test_wbvalue_and_media_are_the_base_of_what_log_stores() -> None:
    table = wandb.Table(columns=["a"], data=[[1]])
    assert isinstance(table, wandb.WBValue) and isinstance(table, wandb.Media)
    assert wandb.WBValue is wandb.Media
