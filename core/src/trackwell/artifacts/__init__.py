"""Artifacts, models and the registry: ``trackwell.Artifact`` and what logs, uploads and
downloads it (docs/guide.md, "Artifacts"). Imported on first use: ``import trackwell``
stays light."""

from __future__ import annotations

from trackwell.artifacts.artifact import Artifact
from trackwell.artifacts.manifest import ArtifactError, ArtifactManifest, ArtifactManifestEntry

__all__ = ["Artifact", "ArtifactError", "ArtifactManifest", "ArtifactManifestEntry"]
