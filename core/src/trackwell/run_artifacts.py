"""``Run``'s artifact and model methods (W&B's names), a base class of ``Run``.

Thin on purpose: each body is in ``trackwell.artifacts`` (``run_api.py``, ``code.py``),
imported at the first call, so ``import trackwell`` and a run that logs no artifact
never load the artifacts package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from trackwell.run import Run


class ArtifactMethods:
    """``log_artifact``, ``use_artifact``, ``log_code``, ``link_artifact`` and the model
    shortcuts ``log_model``, ``use_model``, ``link_model``."""

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: Any = None,
        tags: Any = None,
    ) -> Any:
        """Log an ``Artifact`` (or a file, directory or reference URI) as this run's output.

        Returns at once: the sender uploads and commits it; ``artifact.wait()`` blocks until then.
        """
        from trackwell.artifacts import run_api

        return run_api.log_artifact(_run(self), artifact_or_path, name, type, aliases, tags)

    def use_artifact(
        self, artifact_or_name: Any, type: str | None = None, aliases: Any = None, use_as: str | None = None
    ) -> Any:
        """Declare an artifact (``"name:alias"``, ``"entity/project/name:v3"``, an object) as an input."""
        from trackwell.artifacts import run_api

        return run_api.use_artifact(_run(self), artifact_or_name, type, aliases, use_as)

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Any = None,
        exclude_fn: Any = None,
    ) -> Any:
        """Save the source files under ``root`` as a ``code`` artifact (W&B's ``run.log_code``).

        ``include_fn(path[, root])`` picks files (default: ``*.py``), ``exclude_fn``
        drops them (default: those in run folders; venvs and .git are never walked).
        Returns the logged ``Artifact``, or None when no file matched.
        """
        from trackwell.artifacts import code

        _run(self)._check_live("log_code")
        return code.log_code(
            _run(self), root, name, include_fn or code.is_python, exclude_fn or code.exclude_run_dirs
        )

    def link_artifact(self, artifact: Any, target_path: str, aliases: Any = None) -> None:
        """Link an artifact into a registry collection (``"wandb-registry-model/<collection>"``, ...)."""
        from trackwell.artifacts import run_api

        run_api.link_artifact(_run(self), artifact, target_path, aliases)

    def log_model(self, path: Any, name: str | None = None, aliases: Any = None) -> Any:
        """Log a model file or directory as an artifact of type ``model``."""
        from trackwell.artifacts import run_api

        return run_api.log_model(_run(self), path, name, aliases)

    def use_model(self, name: str) -> str:
        """Download a logged model (``"name:alias"``) and return the path of its files."""
        from trackwell.artifacts import run_api

        return run_api.use_model(_run(self), name)

    def link_model(
        self, path: Any, registered_model_name: str, name: str | None = None, aliases: Any = None
    ) -> None:
        """Log a model and link it to the registered model ``registered_model_name``."""
        from trackwell.artifacts import run_api

        run_api.link_model(_run(self), path, registered_model_name, name, aliases)


def _run(methods: ArtifactMethods) -> Run:
    """The run these methods are called on (``ArtifactMethods`` is only ever a base of ``Run``)."""
    return cast("Run", methods)
