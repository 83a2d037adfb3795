"""The artifact routes (docs/server-api.md "Artifacts"), one module per resource.

- ``blobs``: which blobs a project lacks, the upload of one blob (whole or in parts),
  ranged reads; ``batches``: many small blobs in one request, up and down;
- ``versions``: commit a version (its manifest streamed), list, read, edit, delete;
- ``collections``: collections and types;
- ``lineage``: runs that logged and used versions;
- ``registry``: links into registry collections, and the registries.

The SQL is in ``storage/`` (``artifacts``, ``collections``, ``lineage``, ``uploads``).
The order below is the order FastAPI tries the routes in: ``.../blobs/{sha256}`` must
come before ``.../{name}/{version}``, and ``.../{name}/versions`` before
``.../{name}/{version}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from trackwell_server.routes.artifacts import batches, blobs, collections, lineage, registry, versions

router = APIRouter()
for _module in (blobs, versions, collections, lineage, registry, batches):
    router.include_router(_module.router)
