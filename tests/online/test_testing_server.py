"""trackwell_server.testing's socketless client: the real app over real storage, driven in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trackwell_server.testing", reason="the trackwell server (server-lite) is not installed")

from trackwell_server.testing import app_client


def test_app_client_drives_the_app_with_no_socket(tmp_path: Path) -> None:
    with app_client(tmp_path / "data") as app:
        assert app.http.get("/health").status_code == 200
        created = app.http.post("/users", json={"name": "ada", "admin": False})
        assert created.status_code in (200, 201), created.text
        key = created.json()["api_key"]
        me = app.http.get("/runs/ada/p/r1", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 404  # an authenticated request the app answered: no such run yet
