"""run.config: access styles, updates, allow_val_change, config sources, and config.yaml on disk."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import trackwell
from trackwell._pipeline.runlog import read_log
from trackwell.errors import ConfigError, RunFinishedError, UsageError
from trackwell.run import Run


def config_records(run: Run) -> list[dict[str, Any]]:
    (log,) = Path(run._run_dir).glob("run-*.twlog")
    return [r.body for r in read_log(log).records if r.kind == "config"]


def config_yaml(run: Run) -> dict[str, Any]:
    """config.yaml as W&B tools read it: ``key: {desc, value}`` plus a version marker."""
    doc = yaml.safe_load((Path(run._run_dir) / "files" / "config.yaml").read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in doc.items() if isinstance(v, dict)}


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def finish_runs() -> Any:
    yield
    while trackwell.run is not None:
        trackwell.finish()


# -- access ---------------------------------------------------------------------------


def test_attribute_and_item_access(offline_run: Run) -> None:
    config = offline_run.config
    config.lr = 0.01
    config["batch_size"] = 32

    assert config["lr"] == 0.01
    assert config.batch_size == 32
    assert config.get("missing", "dflt") == "dflt"
    assert "lr" in config
    assert set(config) == {"lr", "batch_size"}
    assert len(config) == 2
    assert dict(config.items()) == {"lr": 0.01, "batch_size": 32}
    assert config.as_dict() == {"lr": 0.01, "batch_size": 32}
    assert config == {"lr": 0.01, "batch_size": 32}


def test_missing_keys_raise_the_usual_errors(offline_run: Run) -> None:
    with pytest.raises(KeyError):
        offline_run.config["nope"]
    with pytest.raises(AttributeError):
        offline_run.config.nope  # noqa: B018
    assert getattr(offline_run.config, "nope", None) is None


def test_update_with_dict_and_keywords(offline_run: Run) -> None:
    offline_run.config.update({"a": 1, "b": "two"}, c=[1, 2])
    assert offline_run.config.as_dict() == {"a": 1, "b": "two", "c": [1, 2]}


def test_setting_the_same_value_again_is_allowed(offline_run: Run) -> None:
    offline_run.config.update({"a": 1})
    offline_run.config.update({"a": 1})
    offline_run.config.a = 1
    assert offline_run.config.a == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update({"lr": 0.5}),
        lambda c: c.__setitem__("lr", 0.5),
        lambda c: setattr(c, "lr", 0.5),
    ],
    ids=["update", "item", "attribute"],
)
def test_changing_a_value_needs_allow_val_change(offline_run: Run, change: Any) -> None:
    offline_run.config.update({"lr": 0.1})

    with pytest.raises(ConfigError, match="allow_val_change"):
        change(offline_run.config)
    assert issubclass(ConfigError, UsageError)
    assert offline_run.config.lr == 0.1

    offline_run.config.update({"lr": 0.5}, allow_val_change=True)
    assert offline_run.config.lr == 0.5


def test_rejected_update_changes_no_key(offline_run: Run) -> None:
    offline_run.config.update({"lr": 0.1})
    with pytest.raises(ConfigError):
        offline_run.config.update({"new": 1, "lr": 0.9})
    assert offline_run.config.as_dict() == {"lr": 0.1}
    offline_run.finish()
    assert config_yaml(offline_run) == {"lr": 0.1}


def test_allow_val_change_on_init(finish_runs: None, trackwell_dir: Path) -> None:
    run = trackwell.init(config={"lr": 0.1}, allow_val_change=True)
    run.config.update({"lr": 0.2}, allow_val_change=True)
    assert run.config.lr == 0.2


def test_nan_can_be_set_again(offline_run: Run) -> None:
    offline_run.config.update({"x": math.nan})
    offline_run.config.update({"x": math.nan})  # NaN != NaN, but it is not a change
    assert math.isnan(offline_run.config.x)


def test_non_string_config_key_is_a_type_error(offline_run: Run) -> None:
    with pytest.raises(TypeError):
        offline_run.config.update({1: "x"})
    assert len(offline_run.config) == 0


def test_config_values_are_normalized(offline_run: Run) -> None:
    np = pytest.importorskip("numpy")
    offline_run.config.update({"f": np.float32(0.5), "i": np.int64(3), "t": (1, 2)})
    assert type(offline_run.config.f) is float
    assert type(offline_run.config.i) is int
    assert offline_run.config.t == [1, 2]


def test_delete_a_key(offline_run: Run) -> None:
    offline_run.config.update({"a": 1, "b": 2})
    del offline_run.config["a"]
    assert offline_run.config.as_dict() == {"b": 2}
    offline_run.finish()
    assert config_yaml(offline_run) == {"b": 2}


def test_config_change_after_finish_raises(offline_run: Run) -> None:
    offline_run.config.a = 1
    offline_run.finish()
    with pytest.raises(RunFinishedError):
        offline_run.config.b = 2


def test_setdefaults_sets_only_missing_keys(offline_run: Run) -> None:
    offline_run.config.update({"a": 1})
    offline_run.config.setdefaults({"a": 100, "b": 2})
    assert offline_run.config.as_dict() == {"a": 1, "b": 2}


# -- sources ------------------------------------------------------------------------------


def test_init_config_from_dict(finish_runs: None, trackwell_dir: Path) -> None:
    run = trackwell.init(config={"lr": 3e-4, "layers": [64, 64]})
    assert run.config.lr == 3e-4
    assert run.config.layers == [64, 64]


def test_init_config_from_argparse_namespace(finish_runs: None, trackwell_dir: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(["--lr", "0.5"])

    run = trackwell.init(config=args)
    assert run.config.as_dict() == {"lr": 0.5, "epochs": 3}


def test_config_update_from_argparse_namespace(offline_run: Run) -> None:
    offline_run.config.update(argparse.Namespace(seed=7, name="x"))
    assert offline_run.config.seed == 7
    assert offline_run.config.name == "x"


def test_init_config_from_yaml_file_path(finish_runs: None, trackwell_dir: Path) -> None:
    path = write_yaml(trackwell_dir / "params.yaml", {"lr": 0.01, "optimizer": "adam"})
    run = trackwell.init(config=str(path))
    assert run.config.as_dict() == {"lr": 0.01, "optimizer": "adam"}


def test_yaml_file_in_wandb_shape_is_unwrapped(finish_runs: None, trackwell_dir: Path) -> None:
    # config.yaml as W&B writes it: wandb_version marker and key: {desc, value}
    path = write_yaml(
        trackwell_dir / "wb.yaml",
        {"wandb_version": 1, "lr": {"desc": "learning rate", "value": 0.2}, "bs": {"value": 8}},
    )
    run = trackwell.init(config=path)
    assert run.config.as_dict() == {"lr": 0.2, "bs": 8}


def test_config_update_from_yaml_path(offline_run: Run, trackwell_dir: Path) -> None:
    path = write_yaml(trackwell_dir / "more.yaml", {"dropout": 0.3})
    offline_run.config.update(str(path))
    assert offline_run.config.dropout == 0.3


def test_missing_yaml_file_is_a_config_error(finish_runs: None, trackwell_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        trackwell.init(config=str(trackwell_dir / "absent.yaml"))
    assert trackwell.run is None


def test_invalid_config_type_is_a_config_error(finish_runs: None, trackwell_dir: Path) -> None:
    with pytest.raises(ConfigError):
        trackwell.init(config=42)
    assert trackwell.run is None


def test_config_defaults_yaml_is_picked_up_and_overridden_by_init(
    finish_runs: None, trackwell_dir: Path
) -> None:
    write_yaml(
        trackwell_dir / "config-defaults.yaml",
        {"lr": {"desc": "learning rate", "value": 0.1}, "epochs": 10, "seed": 0},
    )
    run = trackwell.init(config={"lr": 0.5})
    assert run.config.as_dict() == {"lr": 0.5, "epochs": 10, "seed": 0}


def test_config_defaults_yaml_alone(finish_runs: None, trackwell_dir: Path) -> None:
    write_yaml(trackwell_dir / "config-defaults.yaml", {"epochs": 10})
    run = trackwell.init()
    assert run.config.epochs == 10
    run.finish()
    assert config_yaml(run) == {"epochs": 10}


def test_config_paths_setting_loads_files_in_order(
    finish_runs: None, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_yaml(trackwell_dir / "config-defaults.yaml", {"a": "defaults", "b": "defaults", "c": "defaults"})
    first = write_yaml(trackwell_dir / "one.yaml", {"b": "one", "c": "one"})
    second = write_yaml(trackwell_dir / "two.yaml", {"c": "two", "d": "two"})
    monkeypatch.setenv("TRACKWELL_CONFIG_PATHS", f"{first},{second}")

    run = trackwell.init(config={"d": "init"})
    assert run.config.as_dict() == {"a": "defaults", "b": "one", "c": "two", "d": "init"}


def test_wandb_config_paths_is_honoured(
    finish_runs: None, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_yaml(trackwell_dir / "wb.yaml", {"from_wandb_env": True})
    monkeypatch.setenv("WANDB_CONFIG_PATHS", str(path))
    run = trackwell.init()
    assert run.config.from_wandb_env is True


def test_config_exclude_keys(finish_runs: None, trackwell_dir: Path) -> None:
    run = trackwell.init(config={"lr": 1, "secret": "token", "bs": 2}, config_exclude_keys=["secret"])
    assert run.config.as_dict() == {"lr": 1, "bs": 2}


def test_config_include_keys(finish_runs: None, trackwell_dir: Path) -> None:
    write_yaml(trackwell_dir / "config-defaults.yaml", {"from_defaults": 1, "dropped": 2})
    run = trackwell.init(config={"lr": 1, "bs": 2}, config_include_keys=["lr", "from_defaults"])
    assert run.config.as_dict() == {"lr": 1, "from_defaults": 1}
    run.finish()
    assert config_yaml(run) == {"lr": 1, "from_defaults": 1}


# -- on disk --------------------------------------------------------------------------------


def test_config_yaml_is_written_in_the_run_files_dir(finish_runs: None, trackwell_dir: Path) -> None:
    run = trackwell.init(config={"lr": 0.1, "arch": {"depth": 4, "act": "relu"}})
    run.config.update({"epochs": 3})
    run.finish()

    path = Path(run._run_dir) / "files" / "config.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["lr"] == {"desc": None, "value": 0.1}
    assert config_yaml(run) == {"lr": 0.1, "arch": {"depth": 4, "act": "relu"}, "epochs": 3}


def test_config_yaml_is_current_after_flush(offline_run: Run) -> None:
    offline_run.config.update({"a": 1})
    assert offline_run.flush()
    assert config_yaml(offline_run) == {"a": 1}

    offline_run.config.update({"a": 2}, allow_val_change=True)
    offline_run.config.b = "x"
    assert offline_run.flush()
    assert config_yaml(offline_run) == {"a": 2, "b": "x"}


def test_config_yaml_feeds_a_new_run(finish_runs: None, trackwell_dir: Path) -> None:
    first = trackwell.init(config={"lr": 0.1, "bs": 16})
    first.finish()
    second = trackwell.init(config=Path(first._run_dir) / "files" / "config.yaml")
    assert second.config.as_dict() == {"lr": 0.1, "bs": 16}


def test_every_change_is_a_config_record(offline_run: Run) -> None:
    offline_run.config.update({"a": 1})
    offline_run.config.update({"a": 2}, allow_val_change=True)
    del offline_run.config["a"]
    offline_run.finish()

    assert config_records(offline_run) == [
        {"update": {"a": 1}, "remove": []},
        {"update": {"a": 2}, "remove": []},
        {"update": {}, "remove": ["a"]},
    ]


def test_public_api_reads_the_config_back(finish_runs: None, trackwell_dir: Path) -> None:
    run = trackwell.init(project="cfg", config={"lr": 0.1})
    run.config.depth = 3
    run.finish()
    assert trackwell.Api(root=trackwell_dir).run(f"cfg/{run.id}").config == {"lr": 0.1, "depth": 3}


def test_module_level_config_follows_the_run(finish_runs: None, trackwell_dir: Path) -> None:
    with pytest.raises(UsageError):
        trackwell.config["x"]
    with pytest.raises(UsageError):
        trackwell.config.update({"x": 1})

    run = trackwell.init(config={"x": 1})
    assert trackwell.config.x == 1
    trackwell.config.y = 2
    assert run.config.y == 2
    run.finish()

    with pytest.raises(UsageError):
        trackwell.config.x  # noqa: B018
