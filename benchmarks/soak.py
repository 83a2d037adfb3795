"""The soak: a long server outage, many clients, random kills of clients and of the server.

usage: python benchmarks/soak.py [--quick] [--db sqlite|postgresql] [--workers N] [--seed N]
                                 [--outage S] [--clients N] [--duration S] [--json FILE]

Run by hand (about 18 minutes; ``--quick`` about a minute), not in CI: ``tests/faults/``
holds the quick versions of the same faults. Everything is real: one ``python -m
trackwell_server`` process (SQLite, or a fresh schema of the local PostgreSQL), SDK
clients in processes of their own streaming online, SIGKILL for every kill.

1. **Outage.** A few clients log paced rows; after a while the server is killed
   (kill -9) and kept down for ``--outage`` seconds (10 minutes), then started again on
   the same port, data directory and database; the clients log on, then finish. Each
   child times every ``run.log()`` call, so ``log()``'s p99 is reported before, during
   and after the outage: the caller must never wait for the network.
2. **Load with kills.** ``--clients`` clients (32) log for ``--duration`` seconds (5
   minutes) while random clients are killed with kill -9 (their runs are then uploaded
   with ``trackwell sync``, as a user would) and the server is killed and restarted at
   random moments.

Then every run is read back from the server and compared with its local run log:
rows logged, rows on the server, rows missing, duplicates; the server's RSS is
sampled throughout (psutil). Exit status 1 when a row is missing or duplicated (in
``--quick`` too: that is correctness, not timing), 2 when the soak itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from array import array
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from report import Check, table, write_json

PG_URL = os.environ.get("TRACKWELL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PROJECT = "soak"
#: A client logs in ticks of this many seconds: ``rate * TICK`` rows, then it sleeps to the next tick.
TICK = 0.01


@dataclass(frozen=True)
class Plan:
    """How long each phase lasts and how many processes take part."""

    before: float  # seconds of logging before the outage
    outage: float  # seconds the server stays down
    after: float  # seconds of logging after the restart
    outage_clients: int  # clients through the outage
    outage_rate: int  # rows/s each of them logs
    clients: int  # clients of the load stage
    duration: float  # seconds of the load stage
    rate: int  # rows/s each load client logs
    client_kills: int  # clients killed with kill -9 during the load stage
    server_kills: int  # server kill -9 + restart during the load stage
    max_down: float  # longest the server stays down after one of those kills (seconds)


FULL = Plan(before=60, outage=600, after=60, outage_clients=4, outage_rate=500,
            clients=32, duration=300, rate=200, client_kills=8, server_kills=3, max_down=10)  # fmt: skip
QUICK = Plan(before=5, outage=15, after=5, outage_clients=2, outage_rate=500,
             clients=8, duration=20, rate=200, client_kills=2, server_kills=1, max_down=3)  # fmt: skip


# -- the client (a child process) ----------------------------------------------------------------


def client_main(out: Path, rate: int, stop: Path) -> None:
    """Log 10-scalar rows at ``rate`` rows/s until ``stop`` exists, timing each ``log()``; then finish.

    Prints the run id first (the parent needs it before any kill). Writes the time and
    duration of every ``log()`` call to ``out/latency.bin`` (pairs of doubles: monotonic
    seconds, microseconds), so the parent can split them at the outage's boundaries.
    """
    import trackwell

    run = trackwell.init(project=PROJECT, mode="online", config={"rate": rate})
    print(run.id, flush=True)
    stamps = array("d")
    per_tick = max(1, round(rate * TICK))
    i = 0
    next_tick = time.monotonic()
    clock = time.perf_counter_ns
    while not stop.exists():
        for _ in range(per_tick):
            row = {"i": i, "loss": 1.0 / (i + 1), **{f"m{k}": i * 0.001 + k for k in range(8)}}
            t0 = clock()
            run.log(row)
            t1 = clock()
            stamps.append(time.monotonic())
            stamps.append((t1 - t0) / 1e3)
            i += 1
        next_tick += TICK
        pause = next_tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # the pace of a training step
        else:
            next_tick = time.monotonic()  # behind (a loaded machine): no burst to catch up
    run.finish()
    with open(out / "latency.bin", "wb") as fh:
        stamps.tofile(fh)
    print(i, flush=True)


# -- the server ----------------------------------------------------------------------------------


class Server:
    """A real server process on one port and data directory for life: killed and started again there."""

    def __init__(self, data_dir: Path, db_url: str | None, workers: int) -> None:
        from trackwell_server.testing import start_server_process

        self._start_process = start_server_process
        self.data_dir = data_dir
        self.db_url = db_url
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = (data_dir / "admin-key").read_text().strip()

    def start(self) -> None:
        extra = ["--workers", str(self.workers)] if self.workers > 1 else []
        handle, self.proc = self._start_process(self.data_dir, db_url=self.db_url, port=self.port or None,
                                                extra_args=extra)  # fmt: skip
        self.port = int(handle.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """kill -9 the server and its workers; return once they are gone."""
        if self.proc is not None:
            from trackwell_server.testing import kill_tree

            kill_tree(self.proc)

    def rss_mb(self) -> float:
        from trackwell_server.testing import rss_mb

        return rss_mb(self.proc) if self.proc is not None else 0.0

    def get(self, path: str, key: str) -> Any:
        req = urllib.request.Request(f"{self.url}/api/v1{path}")
        req.add_header("Authorization", f"Bearer {key}")
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def create_user(self, name: str) -> str:
        req = urllib.request.Request(f"{self.url}/api/v1/users", method="POST",
                                     data=json.dumps({"name": name}).encode())  # fmt: skip
        req.add_header("Authorization", f"Bearer {self.admin_key}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            key: str = json.loads(resp.read())["api_key"]
            return key


class RssSampler:
    """The server's RSS twice a second, on a thread: the largest value seen and the last."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0.0
        self.last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss = self.server.rss_mb()
            if rss:
                self.peak = max(self.peak, rss)
                self.last = rss

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


# -- clients, seen from the parent ---------------------------------------------------------------


@dataclass
class ClientProc:
    """One client process, its directory and what became of it."""

    cwd: Path
    proc: subprocess.Popen[str]
    run_id: str = ""
    killed: bool = False
    logged: int = 0  # history rows in its local run log
    on_server: int = 0  # distinct steps the server holds
    duplicates: int = 0
    missing: int = 0
    state: str = ""
    latency: list[tuple[float, float]] = field(default_factory=list)


def spawn_client(root: Path, name: str, server: Server, key: str, rate: int) -> ClientProc:
    cwd = root / name
    cwd.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(TRACKWELL_DIR=str(cwd), TRACKWELL_BASE_URL=server.url, TRACKWELL_API_KEY=key,
               TRACKWELL_SILENT="true", TRACKWELL_X_DISABLE_STATS="true",
               TRACKWELL_CONFIG_DIR=str(cwd / ".config"), PYTHONUNBUFFERED="1")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, __file__, "client", str(cwd), str(rate), str(root / "stop")],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return ClientProc(cwd, proc)


def read_run_ids(clients: list[ClientProc]) -> None:
    """Each client's first line: its run id (it has initialised once it is printed)."""
    for c in clients:
        assert c.proc.stdout is not None
        c.run_id = c.proc.stdout.readline().strip()
        if not c.run_id:
            raise RuntimeError(f"a client did not start: {c.proc.communicate(timeout=60)[1][-2000:]}")


def kill_client(c: ClientProc) -> None:
    c.proc.send_signal(signal.SIGKILL)
    c.proc.communicate(timeout=60)
    c.killed = True


def finish_clients(clients: list[ClientProc], root: Path, errors: list[str]) -> None:
    """Tell the live clients to finish, wait for them, and collect their ``log()`` timings."""
    (root / "stop").touch()
    for c in clients:
        if c.killed:
            continue
        _out, err = c.proc.communicate(timeout=600)
        if c.proc.returncode != 0 or "ERROR" in err:
            errors.append(f"{c.cwd.name} exit {c.proc.returncode}: {err.strip()[-500:]}")
        latency = c.cwd / "latency.bin"
        if latency.exists():
            stamps = array("d")
            stamps.frombytes(latency.read_bytes())
            c.latency = list(zip(stamps[0::2], stamps[1::2], strict=True))


def sync(c: ClientProc, server: Server, key: str, errors: list[str]) -> None:
    """``trackwell sync`` of a killed client's directory: how a user uploads what the kill left."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(TRACKWELL_BASE_URL=server.url, TRACKWELL_API_KEY=key,
               TRACKWELL_CONFIG_DIR=str(c.cwd / ".config"))  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "trackwell", "sync"], cwd=c.cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    if done.returncode != 0:
        errors.append(f"sync {c.cwd.name}: exit {done.returncode}: {done.stderr.strip()[-500:]}")


def tally(c: ClientProc, server: Server, key: str, entity: str) -> None:
    """Compare the client's local run log with the rows the server holds for its run."""
    from trackwell._pipeline.runlog import Kind, read_log

    (log,) = (c.cwd / "trackwell").glob("*run-*/run-*.twlog")
    c.logged = sum(1 for r in read_log(log).records if r.kind == Kind.HISTORY)
    path = f"/runs/{entity}/{PROJECT}/{c.run_id}"
    steps: list[int] = []
    cursor = None
    while True:
        query = "?page_size=5000&keys=i" + (f"&cursor={cursor}" if cursor else "")
        page = server.get(f"{path}/history{query}", key)
        steps += [row["_step"] for row in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    distinct = set(steps)
    c.on_server = len(distinct)
    c.duplicates = len(steps) - len(distinct)
    c.missing = len(set(range(c.logged)) - distinct)
    c.state = server.get(path, key)["state"]


# -- the stages ----------------------------------------------------------------------------------


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class Stage:
    """What one stage did, for the table and the JSON."""

    name: str
    clients: list[ClientProc]
    errors: list[str] = field(default_factory=list)
    rss_peak: float = 0.0
    rss_end: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)  # monotonic times of the outage's edges

    def rows(self, attr: str) -> int:
        return sum(getattr(c, attr) for c in self.clients)


def outage_stage(plan: Plan, server: Server, key: str, entity: str, root: Path) -> Stage:
    clients = [spawn_client(root, f"o{n}", server, key, plan.outage_rate) for n in range(plan.outage_clients)]
    read_run_ids(clients)
    stage = Stage("outage", clients)
    sampler = RssSampler(server)
    stage.marks["start"] = time.monotonic()
    time.sleep(plan.before)  # the phases are the soak's clock, not a wait for anything
    note(f"outage: server killed, down for {plan.outage:g} s")
    stage.marks["down"] = time.monotonic()
    server.kill()
    time.sleep(plan.outage)
    server.start()
    stage.marks["up"] = time.monotonic()
    note("outage: server back")
    time.sleep(plan.after)
    stage.marks["end"] = time.monotonic()
    finish_clients(clients, root, stage.errors)
    sampler.close()
    stage.rss_peak, stage.rss_end = sampler.peak, server.rss_mb()
    for c in clients:
        tally(c, server, key, entity)
    return stage


def load_stage(plan: Plan, server: Server, key: str, entity: str, root: Path, rng: random.Random) -> Stage:
    clients = [spawn_client(root, f"c{n}", server, key, plan.rate) for n in range(plan.clients)]
    read_run_ids(clients)
    stage = Stage("load", clients)
    sampler = RssSampler(server)
    start = time.monotonic()
    events = [(rng.uniform(0.1, 0.9) * plan.duration, "client") for _ in range(plan.client_kills)]
    events += [(rng.uniform(0.1, 0.8) * plan.duration, "server") for _ in range(plan.server_kills)]
    victims = rng.sample(clients, min(plan.client_kills, len(clients)))
    for at, what in sorted(events):
        time.sleep(max(0.0, start + at - time.monotonic()))  # the random moment of the next fault
        if what == "client" and victims:
            kill_client(victims.pop())
            note(f"load: client killed at {at:.1f} s")
        elif what == "server":
            down = rng.uniform(0.5, plan.max_down)
            note(f"load: server killed at {at:.1f} s, down {down:.1f} s")
            server.kill()
            time.sleep(down)
            server.start()
    time.sleep(max(0.0, start + plan.duration - time.monotonic()))
    finish_clients(clients, root, stage.errors)
    for c in clients:
        if c.killed:
            sync(c, server, key, stage.errors)
    sampler.close()
    stage.rss_peak, stage.rss_end = sampler.peak, server.rss_mb()
    for c in clients:
        tally(c, server, key, entity)
    return stage


def note(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


# -- the report ----------------------------------------------------------------------------------


def checks_of(stage: Stage) -> list[Check]:
    n = len(stage.clients)
    killed = sum(c.killed for c in stage.clients)
    logged, held = stage.rows("logged"), stage.rows("on_server")
    wrong_state = [c.cwd.name for c in stage.clients if c.state != ("crashed" if c.killed else "finished")]
    problems = wrong_state + stage.errors
    checks = [
        Check(f"{stage.name}: rows logged ({n} clients, {killed} killed)", logged, "rows"),
        Check(f"{stage.name}: rows on the server", held, "rows"),
        Check(f"{stage.name}: rows missing", stage.rows("missing"), "rows", 0, detail=short_of(stage)),
        Check(f"{stage.name}: duplicate rows", stage.rows("duplicates"), "rows", 0),
        Check(f"{stage.name}: runs in the wrong state, client errors", len(problems), "rows", 0,
              measured=str(len(problems)), target="0", detail="; ".join(problems)[:1000]),
    ]
    if stage.marks:
        lat = [p for c in stage.clients for p in c.latency]
        phases = {
            "before": [us for t, us in lat if t < stage.marks["down"]],
            "during": [us for t, us in lat if stage.marks["down"] <= t < stage.marks["up"]],
            "after": [us for t, us in lat if t >= stage.marks["up"]],
        }
        for phase, values in phases.items():
            checks.append(Check(f"{stage.name}: log() p99 {phase} the outage", p99(values), "us",
                                detail=f"{len(values):,} calls" if phase == "before" else ""))  # fmt: skip
    else:
        calls = [us for c in stage.clients for _, us in c.latency]
        checks.append(Check(f"{stage.name}: log() p99 (clients not killed)", p99(calls), "us"))
    checks.append(Check(f"{stage.name}: server RSS peak / at end", stage.rss_peak, "MB",
                        measured=f"{stage.rss_peak:,.1f} / {stage.rss_end:,.1f} MB"))  # fmt: skip
    return checks


def short_of(stage: Stage) -> str:
    """Which runs lack rows: the client, whether it was killed, how many rows of its log are missing."""
    return "; ".join(f"{c.cwd.name} ({'killed, synced' if c.killed else 'finished'}): {c.missing:,} of "
                     f"{c.logged:,} missing" for c in stage.clients if c.missing)  # fmt: skip


def per_client(stage: Stage) -> list[dict[str, Any]]:
    """Each client's figures for the JSON output."""
    return [{"client": c.cwd.name, "run_id": c.run_id, "killed": c.killed, "logged": c.logged,
             "on_server": c.on_server, "missing": c.missing, "duplicates": c.duplicates, "state": c.state}
            for c in stage.clients]  # fmt: skip


def new_schema() -> tuple[str, str]:
    schema = "soak_" + uuid.uuid4().hex[:10]
    _pg(f"CREATE SCHEMA {schema}")
    return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"


def _pg(sql: str) -> None:
    env = {**os.environ, "PGOPTIONS": "--client-min-messages=warning"}
    cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql]
    subprocess.run(cmd, check=True, env=env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        client_main(Path(argv[1]), int(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="everything shortened: about a minute")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite", help="server database")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--seed", type=int, help="seed for the random kill moments")
    parser.add_argument("--outage", type=float, help="seconds the server stays down in stage 1")
    parser.add_argument("--clients", type=int, help="client processes of stage 2")
    parser.add_argument("--duration", type=float, help="seconds of stage 2")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    for name in ("outage", "clients", "duration"):
        if getattr(args, name) is not None:
            plan = replace(plan, **{name: getattr(args, name)})
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    schema = None
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="twsoak-") as tmp:
        root = Path(tmp)
        db_url = None
        if args.db == "postgresql":
            schema, db_url = new_schema()
        server = Server(root / "server", db_url, args.workers)
        try:
            entity = "soak"
            key = server.create_user(entity)
            note(f"server {server.url} ({args.db}, {args.workers} worker(s)); seed {seed}; plan {plan}")
            stages = [outage_stage(plan, server, key, entity, root / "outage")]
            note("load stage")
            stages.append(load_stage(plan, server, key, entity, root / "load", rng))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"the soak broke: {exc}", file=sys.stderr)
            return 2
        finally:
            server.kill()
            if schema:
                _pg(f"DROP SCHEMA {schema} CASCADE")
    checks = [check for stage in stages for check in checks_of(stage)]
    custom = any(getattr(args, name) is not None for name in ("outage", "clients", "duration"))
    mode = ("quick" if args.quick else "full") + (", with overrides" if custom else "")
    print(f"\ntrackwell soak ({mode}; {args.db}, {args.workers} worker(s); seed {seed}; "
          f"{time.monotonic() - t0:.0f} s; Python {sys.version.split()[0]})\n")  # fmt: skip
    print(table(checks))
    if args.json:
        raw = {"plan": asdict(plan), "seed": seed, "db": args.db, "workers": args.workers,
               "clients": {stage.name: per_client(stage) for stage in stages}}  # fmt: skip
        write_json(args.json, checks, args.quick, raw)
    failed = [c.metric for c in checks if c.ok is False]
    if failed:
        print(f"\n{len(failed)} check(s) failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
