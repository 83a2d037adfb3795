"""The system-metrics thread, the built-in psutil and NVML sources, and collect_sources."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import pluggy
import pytest

from trackwell.default_plugins.system_nvml import NvmlSource
from trackwell.default_plugins.system_psutil import PsutilSource
from trackwell.errors import PluginWarning
from trackwell.plugins import create_plugin_manager, hookimpl
from trackwell.sysmetrics import (
    THREAD_NAME,
    MetricsSource,
    SystemMonitor,
    collect_sources,
)

DEADLINE = 10.0  # seconds; generous for a loaded CI machine, never reached when all is well


class Rows:
    """An ``emit`` that records rows and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self._cond = threading.Condition()

    def __call__(self, row: dict[str, float]) -> None:
        with self._cond:
            self.rows.append(row)
            self._cond.notify_all()

    def wait_for(self, n: int) -> list[dict[str, float]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.rows) >= n, DEADLINE), self.rows
            return list(self.rows)


class FakeSource:
    def __init__(
        self, name: str = "fake", ok: bool | Exception = True, fail_after: int | None = None
    ) -> None:
        self.name = name
        self.ok = ok
        self.fail_after = fail_after
        self.samples = 0
        self.calls: list[str] = []
        self.threads: set[str] = set()

    def setup(self) -> bool:
        self._note("setup")
        if isinstance(self.ok, Exception):
            raise self.ok
        return self.ok

    def sample(self) -> dict[str, float]:
        self._note("sample")
        self.samples += 1
        if self.fail_after is not None and self.samples > self.fail_after:
            raise RuntimeError("sensor fell off")
        return {f"{self.name}.n": self.samples}

    def close(self) -> None:
        self._note("close")

    def _note(self, call: str) -> None:
        self.calls.append(call)
        self.threads.add(threading.current_thread().name)


def start(sources: list[Any], interval: float = 0.01) -> tuple[SystemMonitor, Rows]:
    rows = Rows()
    monitor = SystemMonitor(sources, interval=interval, emit=rows)
    monitor.start()
    return monitor, rows


# -- SystemMonitor ----------------------------------------------------------------


def test_samples_immediately_then_every_interval_with_prefix() -> None:
    source = FakeSource()
    monitor, rows = start([source])
    got = rows.wait_for(3)
    monitor.stop()
    assert [r["system/fake.n"] for r in got[:3]] == [1.0, 2.0, 3.0]
    assert all(set(r) == {"system/fake.n"} for r in got)
    assert source.calls[0] == "setup" and source.calls[-1] == "close"
    assert source.threads == {THREAD_NAME}


def test_one_daemon_thread_named_trackwell_stats() -> None:
    monitor, rows = start([FakeSource("a"), FakeSource("b")], interval=60)
    rows.wait_for(1)
    stats = [t for t in threading.enumerate() if t.name == THREAD_NAME]
    assert len(stats) == 1 and stats[0].daemon
    monitor.stop()
    assert not stats[0].is_alive()


def test_merges_sources_into_one_row() -> None:
    monitor, rows = start([FakeSource("a"), FakeSource("b")], interval=60)
    first = rows.wait_for(1)[0]
    monitor.stop()
    assert first == {"system/a.n": 1.0, "system/b.n": 1.0}


def test_stop_is_prompt_and_takes_no_extra_sample() -> None:
    source = FakeSource()
    monitor, rows = start([source], interval=3600)
    rows.wait_for(1)
    t0 = time.monotonic()
    monitor.stop()
    assert time.monotonic() - t0 < 1.0
    assert not monitor.running
    assert len(rows.rows) == 1 and source.samples == 1
    assert source.calls == ["setup", "sample", "close"]


def test_unavailable_sources_are_dropped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="trackwell.sysmetrics")
    absent, broken = FakeSource("absent", ok=False), FakeSource("broken", ok=OSError())
    good = FakeSource("good")
    monitor, rows = start([absent, broken, good], interval=60)
    assert rows.wait_for(1)[0] == {"system/good.n": 1.0}
    monitor.stop()
    # Never sampled nor closed: they were never set up.
    assert absent.calls == ["setup"] and broken.calls == ["setup"]
    assert all(r.levelname == "DEBUG" for r in caplog.records)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "'absent' is not available" in messages and "'broken' failed" in messages


def test_failing_source_is_logged_once_and_does_not_kill_the_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky, good = FakeSource("flaky", fail_after=1), FakeSource("good")
    monitor, rows = start([flaky, good])
    got = rows.wait_for(4)
    assert monitor.running
    monitor.stop()
    assert got[0] == {"system/flaky.n": 1.0, "system/good.n": 1.0}
    assert all(r == {"system/good.n": r["system/good.n"]} for r in got[1:])
    assert flaky.samples == 2  # the failed call, then never again
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "flaky" in warnings[0].getMessage()
    assert flaky.calls[-1] == "close"  # it was set up, so it is closed


def test_failing_emit_does_not_kill_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    calls = threading.Semaphore(0)

    def emit(row: dict[str, float]) -> None:
        calls.release()
        raise RuntimeError("queue closed")

    monitor = SystemMonitor([FakeSource()], interval=0.01, emit=emit)
    monitor.start()
    for _ in range(3):
        assert calls.acquire(timeout=DEADLINE)
    assert monitor.running
    monitor.stop()
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_thread_ends_when_no_source_is_available() -> None:
    rows = Rows()
    monitor = SystemMonitor([FakeSource(ok=False)], interval=0.01, emit=rows)
    monitor.start()
    monitor.stop()
    assert not monitor.running
    assert rows.rows == []


def test_stop_without_start_and_double_start() -> None:
    SystemMonitor([], interval=1, emit=Rows()).stop()
    monitor, _ = start([])
    with pytest.raises(RuntimeError):
        monitor.start()
    monitor.stop()
    with pytest.raises(ValueError):
        SystemMonitor([], interval=0, emit=Rows())


# -- the psutil source ----------------------------------------------------------------


def test_psutil_source_real_sampling(tmp_path: Any) -> None:
    source = PsutilSource(disk_paths=[str(tmp_path)])
    monitor, rows = start([source], interval=0.05)
    second = rows.wait_for(2)[1]
    monitor.stop()
    cores = [k for k in second if k.startswith("system/cpu.") and k.endswith(".cpu_percent")]
    assert cores and "system/cpu.0.cpu_percent" in cores
    for key in (
        "cpu",
        "memory_percent",
        "proc.memory.rssMB",
        "proc.memory.percent",
        "proc.memory.availableMB",
        "proc.cpu.threads",
        f"disk.{tmp_path}.usagePercent",
        f"disk.{tmp_path}.usageGB",
    ):
        assert f"system/{key}" in second, key
    assert 0 < second["system/proc.memory.rssMB"] < 1024 * 1024
    assert 0 <= second["system/memory_percent"] <= 100
    assert second["system/proc.cpu.threads"] >= 2  # the main thread and trackwell-stats
    assert 0 <= second["system/cpu"] <= 100
    # Counters are "since start", so they start near zero and never go negative.
    for key in ("disk.in", "disk.out", "network.sent", "network.recv"):
        if f"system/{key}" in second:
            assert second[f"system/{key}"] >= 0


def test_psutil_source_watches_the_root_disk_by_default() -> None:
    source = PsutilSource()
    assert source.setup()
    keys = source.sample()
    source.close()
    root = source.disk_paths[0]
    assert f"disk.{root}.usagePercent" in keys and f"disk.{root}.usageGB" in keys


def test_psutil_source_lost_mount_loses_only_disk_keys(tmp_path: Any) -> None:
    source = PsutilSource(disk_paths=[str(tmp_path / "gone")])
    assert source.setup()
    keys = source.sample()
    assert "cpu" in keys and "memory_percent" in keys
    assert not any(k.startswith(f"disk.{tmp_path}") for k in keys)


def test_psutil_source_without_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # makes `import psutil` fail
    assert PsutilSource().setup() is False


@pytest.mark.parametrize(
    "module", ["trackwell.default_plugins.system_psutil", "trackwell.default_plugins.system_nvml"]
)
def test_default_plugins_import_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'psutil', 'pynvml'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the NVML source --------------------------------------------------------------


def test_nvml_source_skipped_without_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    source = NvmlSource()
    assert source.setup() is False
    source.close()  # harmless even though setup failed


def test_nvml_source_skipped_cleanly_here() -> None:
    # Without pynvml (as on the CI machines, which have no GPU either) setup() must say
    # False, not raise; with it, setup() must not raise whatever the driver says.
    source = NvmlSource()
    available = source.setup()
    source.close()
    if importlib.util.find_spec("pynvml") is None:
        assert available is False


class NVMLError(Exception):
    pass


def fake_pynvml(gpus: int = 2, init_error: bool = False) -> types.ModuleType:
    """A stand-in for pynvml: GPU 1 does not support temperature or power."""
    state = {"init": 0, "shutdown": 0}

    def init() -> None:
        if init_error:
            raise NVMLError("Driver Not Loaded")
        state["init"] += 1

    def shutdown() -> None:
        state["shutdown"] += 1

    def unsupported_on_1(value: Any) -> Callable[..., Any]:
        def get(handle: int, *args: Any) -> Any:
            if handle == 1:
                raise NVMLError("Not Supported")
            return value

        return get

    m = types.ModuleType("pynvml")
    vars(m).update(
        state=state,
        NVMLError=NVMLError,
        NVML_TEMPERATURE_GPU=0,
        nvmlInit=init,
        nvmlShutdown=shutdown,
        nvmlDeviceGetCount=lambda: gpus,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=50 + h, memory=20),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=2 << 30, total=8 << 30),
        nvmlDeviceGetTemperature=unsupported_on_1(61),
        nvmlDeviceGetPowerUsage=unsupported_on_1(150_000),  # milliwatts
        nvmlDeviceGetEnforcedPowerLimit=unsupported_on_1(300_000),
    )
    return m


def test_nvml_source_skipped_when_init_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_error=True))
    assert NvmlSource().setup() is False


def test_nvml_source_skipped_with_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_pynvml(gpus=0)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert NvmlSource().setup() is False
    assert fake.state == {"init": 1, "shutdown": 1}


def test_nvml_source_samples_every_gpu_skipping_unsupported_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_pynvml(gpus=2)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    source = NvmlSource()
    assert source.setup() is True
    got = source.sample()
    source.close()
    assert got == {
        "gpu.0.gpu": 50,
        "gpu.0.memory": 20,
        "gpu.0.memoryAllocated": 25.0,
        "gpu.0.memoryAllocatedBytes": 2 * 1024**3,
        "gpu.0.temp": 61,
        "gpu.0.powerWatts": 150.0,
        "gpu.0.powerPercent": 50.0,
        "gpu.1.gpu": 51,
        "gpu.1.memory": 20,
        "gpu.1.memoryAllocated": 25.0,
        "gpu.1.memoryAllocatedBytes": 2 * 1024**3,
    }
    assert fake.state == {"init": 1, "shutdown": 1}


# -- collect_sources --------------------------------------------------------------


def test_collect_sources_from_default_plugins() -> None:
    sources = collect_sources(create_plugin_manager(load_entry_points=False))
    assert sorted(s.name for s in sources) == ["nvml", "psutil"]


def _pm_with(plugin: object, name: str) -> pluggy.PluginManager:
    pm = create_plugin_manager(load_entry_points=False)
    pm.register(plugin, name=name)
    return pm


def test_collect_sources_includes_third_party_sources() -> None:
    class Plugin:
        @hookimpl
        def register_system_metrics(self, register: Callable[[MetricsSource], None]) -> None:
            register(FakeSource("fans"))

    names = [s.name for s in collect_sources(_pm_with(Plugin(), "fans_plugin"))]
    assert "fans" in names and "psutil" in names


def test_collect_sources_rejects_an_invalid_source_naming_the_plugin() -> None:
    class NoClose:
        name = "noclose"

        def setup(self) -> bool:
            return True

        def sample(self) -> dict[str, float]:
            return {}

    class Plugin:
        @hookimpl
        def register_system_metrics(self, register: Callable[[Any], None]) -> None:
            register(NoClose())

    # A broken plugin costs only itself: warned about by name, the other sources stay.
    with pytest.warns(PluginWarning, match=r"plugin 'bad_plugin'.*missing close"):
        sources = collect_sources(_pm_with(Plugin(), "bad_plugin"))
    assert sorted(s.name for s in sources) == ["nvml", "psutil"]


def test_collect_sources_rejects_a_nameless_source() -> None:
    class Plugin:
        @hookimpl
        def register_system_metrics(self, register: Callable[[Any], None]) -> None:
            register(object())

    with pytest.warns(PluginWarning, match=r"plugin 'nameless'.*missing name, setup, sample, close"):
        sources = collect_sources(_pm_with(Plugin(), "nameless"))
    assert sorted(s.name for s in sources) == ["nvml", "psutil"]


def test_collect_sources_rejects_a_duplicate_name() -> None:
    class Plugin:
        @hookimpl
        def register_system_metrics(self, register: Callable[[MetricsSource], None]) -> None:
            register(FakeSource("psutil"))

    with pytest.warns(PluginWarning, match=r"named 'psutil'") as record:
        sources = collect_sources(_pm_with(Plugin(), "copycat"))
    # Both plugins are named, whichever pluggy called first; one psutil source is kept.
    message = str(record[0].message)
    assert "'copycat'" in message and "'system_psutil'" in message
    assert sorted(s.name for s in sources) == ["nvml", "psutil"]
