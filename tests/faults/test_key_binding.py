"""A saved API key goes only to the server it was saved for: a cloned repository's
``./trackwell/settings`` that points runs elsewhere gets none of the user's keys, and the
user is told, once, which file sent their runs where."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import TIMEOUT, ServerProcess, unique


class Recorder:
    """A stranger's server on another port: it records every request and wants a key.

    ``/health`` and ``/viewer`` answer as a trackwell server does (so ``trackwell login``
    works against it); everything else is 401, as a server that got no usable key says.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._lock:
                    recorder.requests.append((self.command, self.path, dict(self.headers.items()), body))
                answer: dict[str, Any]
                if self.path.endswith("/health"):
                    status, answer = 200, {"ok": True, "auth": True}
                elif self.path.endswith("/viewer") and self.headers.get("Authorization"):
                    status, answer = 200, {"user": "stranger", "entity": "stranger"}
                else:
                    status, answer = 401, {"detail": "a valid API key is needed"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

        return Handler

    def saw(self, secret: str) -> list[str]:
        """Every recorded request that carried ``secret`` anywhere (a header or the body)."""
        with self._lock:
            return [f"{m} {p}" for m, p, h, b in self.requests
                    if secret in json.dumps(h) or secret.encode() in b]  # fmt: skip

    def bearers(self) -> set[str]:
        with self._lock:
            return {h["Authorization"] for _, _, h, _ in self.requests if "Authorization" in h}

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def server_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The user's own server (SQLite: which database holds the runs is not what is tested here)."""
    server = ServerProcess(tmp_path_factory.mktemp("server-a"), None)
    yield server
    server.kill()


@pytest.fixture
def stranger() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.stop()


class User:
    """A user of server A with a home (config dir) of their own; commands run as child processes."""

    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.server = server
        self.home = home
        self.name = unique("u")
        self.key = server.create_user(self.name)
        self.repo = home / "repo"
        self.repo.mkdir(parents=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
        env.update(TRACKWELL_CONFIG_DIR=str(self.home / ".config"), TRACKWELL_SILENT="true",
                   TRACKWELL_X_DISABLE_STATS="true", TRACKWELL_FINISH_TIMEOUT="10",
                   TRACKWELL_INIT_TIMEOUT="10", PYTHONUNBUFFERED="1")  # fmt: skip
        env.update(extra)
        return env

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackwell", *args], cwd=self.repo, env=self.env(**env),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)  # fmt: skip

    def login(self) -> None:
        done = self.cli("login", "--host", self.server.url, self.key)
        assert done.returncode == 0, done.stdout + done.stderr

    def python(self, source: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-c", source], cwd=self.repo, env=self.env(**env),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    def clone_a_repository_pointing_at(self, url: str) -> Path:
        settings = self.repo / "trackwell" / "settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(f"[default]\nbase_url = {url}\nproject = cloned\n", encoding="utf-8")
        return settings


#: A run and a Public API read, as a user's training script and notebook make them; errors from
#: the stranger's server (it refuses everything) are expected and printed, not raised.
RUN_AND_READ = """
import trackwell
run = trackwell.init(project="p", mode="online")
run.log({"loss": 1.0})
run.finish()
try:
    trackwell.Api().runs("someone/p")[:1]
except Exception as exc:
    print("api:", type(exc).__name__)
"""


@pytest.fixture
def user(server_a: ServerProcess, tmp_path: Path) -> User:
    return User(server_a, tmp_path)


def test_a_workspace_file_gets_no_saved_key_and_is_reported(user: User, stranger: Recorder) -> None:
    user.login()
    settings = user.clone_a_repository_pointing_at(stranger.url)
    done = user.python(RUN_AND_READ)
    assert stranger.requests, "the run was expected to stream to the workspace's server (obeyed, reported)"
    assert stranger.saw(user.key) == []
    assert stranger.bearers() == set()
    warning = [line for line in done.stderr.splitlines() if "have not logged in to" in line]
    assert len(warning) == 1, done.stderr
    assert str(settings) in warning[0] and stranger.url in warning[0]


def test_an_exported_key_does_not_follow_a_workspace_file_either(user: User, stranger: Recorder) -> None:
    user.login()
    user.clone_a_repository_pointing_at(stranger.url)
    done = user.python(RUN_AND_READ, WANDB_API_KEY=user.key, TRACKWELL_API_KEY=user.key)
    assert stranger.requests
    assert stranger.saw(user.key) == []
    assert "have not logged in to" in done.stderr


def test_a_server_chosen_in_code_gets_only_its_own_key(user: User, stranger: Recorder) -> None:
    user.login()
    # base_url in the user's own code, no key: the key saved for A stays with A
    user.python(f"import trackwell; trackwell.init(project='p', settings={{'base_url': '{stranger.url}'}}).finish()")
    assert stranger.requests and stranger.saw(user.key) == []
    # a key the user's code (or environment) gives together with the server is the user's choice
    user.python(f"import trackwell; trackwell.init(project='p', settings={{'base_url': '{stranger.url}', "
                "'api_key': 'tw_for_stranger'}).finish()")  # fmt: skip
    user.python("import trackwell; trackwell.init(project='p').finish()",
                TRACKWELL_BASE_URL=stranger.url, TRACKWELL_API_KEY="tw_from_env")  # fmt: skip
    assert stranger.bearers() == {"Bearer tw_for_stranger", "Bearer tw_from_env"}
    assert stranger.saw(user.key) == []


def test_the_saved_key_still_reaches_its_own_server(user: User) -> None:
    user.login()
    done = user.python("import trackwell; r = trackwell.init(project='p'); r.log({'x': 1}); r.finish(); "
                       "print(r.id)")  # fmt: skip
    run_id = done.stdout.split()[-1]
    check = user.python(f"import trackwell; print(trackwell.Api().run('{user.name}/p/{run_id}').state)")
    assert check.stdout.strip() == "finished"
    assert "have not logged in to" not in done.stderr + check.stderr


def test_the_single_key_format_binds_to_its_server_and_a_second_login_keeps_it(
    user: User, stranger: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackwell.settings import Settings, read_settings_parser

    config = user.home / ".config"
    config.mkdir()
    (config / "settings").write_text(  # what `trackwell login` wrote before keys were bound
        f"[default]\nbase_url = {user.server.url}\napi_key = {user.key}\nentity = {user.name}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(user.repo)
    for name in ("BASE_URL", "API_KEY", "MODE", "DIR"):
        monkeypatch.delenv(f"TRACKWELL_{name}", raising=False)
        monkeypatch.delenv(f"WANDB_{name}", raising=False)
    monkeypatch.setenv("TRACKWELL_CONFIG_DIR", str(config))
    assert Settings.resolve().api_key == user.key
    # the same server spelt differently shares the key; another port does not
    other_spelling = user.server.url.replace("http://", "HTTP://") + "/"
    assert Settings.resolve(settings={"base_url": other_spelling}).api_key == user.key
    assert Settings.resolve(settings={"base_url": stranger.url}).api_key is None

    done = user.cli("login", "--host", stranger.url, "tw_stranger_key")
    assert done.returncode == 0, done.stdout + done.stderr
    assert Settings.resolve().api_key == "tw_stranger_key"  # the new default server, its own key
    monkeypatch.setenv("TRACKWELL_BASE_URL", user.server.url)
    assert Settings.resolve().api_key == user.key  # the first server kept its key
    assert user.key not in {v for _, _, h, _ in stranger.requests for v in h.values()}
    parser = read_settings_parser(config / "settings")
    assert parser["default"]["base_url"] == stranger.url
    assert parser[f"server http://127.0.0.1:{user.server.port}"]["api_key"] == user.key

    done = user.cli("logout")
    assert done.returncode == 0 and "2 API keys" in done.stdout, done.stdout
    assert Settings.resolve().api_key is None
