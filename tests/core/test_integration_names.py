"""trackwell.integration.<name> resolution and the import-time hooks integrations rely on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import trackwell
from trackwell import _post_import
from trackwell.errors import TrackwellWarning


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for throwaway modules, forgotten again afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if "fakefw" in name or name.startswith("tw_fake"):
            del sys.modules[name]


def test_import_trackwell_does_not_load_the_integration_package(tmp_path: Path) -> None:
    code = "import sys, trackwell; print('trackwell.integration' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "False"


def test_a_missing_integration_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ModuleNotFoundError, match=r"no installed plugin registers it.*trackwell_nosuchframework"
    ):
        import trackwell.integration.nosuchframework  # noqa: F401
    # W&B's names map to our distributions: huggingface is trackwell-transformers
    monkeypatch.setitem(sys.modules, "trackwell_transformers", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "trackwell.integration.huggingface", raising=False)
    from trackwell import integration

    hint = r"huggingface is not installed: it needs the trackwell-transformers package.*-e integrations/transformers"
    with pytest.raises(ModuleNotFoundError, match=hint):
        integration.load("huggingface")


def test_the_mlflow_importer_resolves_through_the_integration_names() -> None:
    """W&B's ``wandb.apis.importers.mlflow``: the core names no importer package; without
    trackwell-mlflow the import says how to install it."""
    code = (
        "import sys; sys.modules['trackwell_mlflow'] = None\n"
        "try:\n    from trackwell.apis.importers.mlflow import MlflowImporter\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "the mlflow importer: trackwell.integration.mlflow is not installed" in proc.stdout
    assert "pip install -e integrations/mlflow" in proc.stdout


def test_an_installed_trackwell_package_is_reachable_under_its_wandb_name(on_path: Path) -> None:
    (on_path / "trackwell_fakefw.py").write_text("class WandbThing:\n    pass\n")
    import trackwell_fakefw

    from trackwell.integration.fakefw import WandbThing

    assert WandbThing is trackwell_fakefw.WandbThing
    assert sys.modules["trackwell.integration.fakefw"] is trackwell_fakefw
    assert trackwell_fakefw.__spec__.name == "trackwell_fakefw"  # the package's own identity is kept
    wandb = trackwell  # as with `import trackwell as wandb`
    assert wandb.integration.fakefw.WandbThing is WandbThing


def test_an_integration_missing_its_framework_raises_that_error(on_path: Path) -> None:
    (on_path / "trackwell_fakefw2.py").write_text("import tw_fake_framework_not_installed\n")
    with pytest.raises(ModuleNotFoundError, match="tw_fake_framework_not_installed"):
        import trackwell.integration.fakefw2  # noqa: F401


def test_real_submodules_are_not_taken_for_integrations() -> None:
    from trackwell.integration import support

    assert support.__name__ == "trackwell.integration.support"
    with pytest.raises(AttributeError):
        trackwell.integration._private  # noqa: B018


def test_the_post_import_hook_runs_after_the_framework_module(
    on_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (on_path / "tw_fake_framework.py").write_text("TABLE = {'builtin': 1}\n")
    (on_path / "tw_fake_integration.py").write_text(
        "def register(module):\n    module.TABLE['mine'] = module.TABLE['builtin'] + 1\n"
    )
    monkeypatch.setitem(_post_import.HOOKS, "tw_fake_framework", "tw_fake_integration:register")
    import tw_fake_framework

    assert tw_fake_framework.TABLE == {"builtin": 1, "mine": 2}


def test_a_missing_integration_is_skipped_and_a_failing_hook_only_warns(
    on_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (on_path / "tw_fake_framework_a.py").write_text("X = 1\n")
    monkeypatch.setitem(_post_import.HOOKS, "tw_fake_framework_a", "tw_fake_not_installed:register")
    import tw_fake_framework_a

    assert tw_fake_framework_a.X == 1

    (on_path / "tw_fake_framework_b.py").write_text("X = 2\n")
    (on_path / "tw_fake_broken.py").write_text(
        "def register(module):\n    raise RuntimeError('table moved')\n"
    )
    monkeypatch.setitem(_post_import.HOOKS, "tw_fake_framework_b", "tw_fake_broken:register")
    with pytest.warns(TrackwellWarning, match="tw_fake_broken could not set itself up.*table moved"):
        import tw_fake_framework_b
    assert tw_fake_framework_b.X == 2


def test_hook_register_integrations(on_path: Path, register_plugin: Callable[..., str]) -> None:
    (on_path / "tw_fake_target.py").write_text("NAME = 'registered'\n")

    class Integration:
        @trackwell.hookimpl
        def register_integrations(self, register: Callable[[str, str], None]) -> None:
            register("fakefw_registered", "tw_fake_target")

    register_plugin(Integration(), name="fake-integration")
    from trackwell.integration import registered

    assert registered()["fakefw_registered"] == "tw_fake_target"
    from trackwell.integration.fakefw_registered import NAME

    assert NAME == "registered"
    del sys.modules["trackwell.integration.fakefw_registered"]


def test_register_integrations_checks_its_arguments(register_plugin: Callable[..., str]) -> None:
    class Bad:
        @trackwell.hookimpl
        def register_integrations(self, register: Callable[[str, str], None]) -> None:
            register("not a name", "x")

    register_plugin(Bad(), name="bad-integration")
    from trackwell.integration import registered

    # a broken plugin costs only itself (the plugin manager's guard), with a warning saying why
    with pytest.warns(UserWarning, match="bad-integration.*register_integrations.*takes two names"):
        assert "not a name" not in registered()
