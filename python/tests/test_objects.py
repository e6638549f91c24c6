# SPDX-License-Identifier: MIT
"""The objects: construction, arguments, figures, and what keeps what alive."""

import errno
import gc
import os
import tempfile
import weakref

import pytest

import uttm
from conftest import MiB, make_device, make_store, pages


def test_version_is_the_projects():
    assert uttm.__version__.count(".") == 2
    assert all(part.isdigit() for part in uttm.__version__.split("."))


def test_objects_report_their_figures(ctx, device):
    bo = uttm.BufferObject(device, "1M")
    assert bo.size == MiB and bo.device is device and device.context is ctx
    assert not bo.resident and not bo.backed_up and not bo.purgeable
    with bo.map():
        assert bo.resident
        assert device.stats["pinned"] == 1
    stats = ctx.stats
    assert stats["objects"] == 1 and stats["pages_allocated"] == pages(MiB)
    assert stats["page_limit"] == pages(64 * MiB)
    assert device.stats["shrinkable_pages"] == pages(MiB)
    assert device.store.handles == 0 and device.store.bytes_avail > 0


def test_sizes_round_up_to_whole_pages(device):
    assert uttm.BufferObject(device, 1).size == uttm.PAGE_SIZE


@pytest.mark.parametrize("size,error", [
    (0, ValueError), ("0", ValueError), (-1, ValueError), ("1X", ValueError),
    (1.5, TypeError), (True, TypeError), (1 << 64, ValueError),
], ids=["zero", "zero-str", "negative", "bad-unit", "float", "bool", "huge"])
def test_bad_sizes(device, size, error):
    with pytest.raises(error):
        uttm.BufferObject(device, size)


def test_bad_names_are_value_errors(ctx):
    with pytest.raises(ValueError, match="caching"):
        uttm.Device(ctx, caching="uncached")
    with pytest.raises(ValueError, match="compressor"):
        uttm.CompressedStore(compressor="gzip")
    with pytest.raises(ValueError, match="pressure source"):
        uttm.Monitor(ctx, source="telepathy")
    with pytest.raises(ValueError, match="fault point"):
        uttm.FaultInjector().calls("nowhere")
    with pytest.raises(ValueError, match="malformed fault rules"):
        uttm.FaultInjector("restore:sometimes")


def test_wrong_types_are_type_errors(ctx):
    with pytest.raises(TypeError, match="context must be a uttm.Context"):
        uttm.Device("context")
    with pytest.raises(TypeError, match="store must be a uttm.Store"):
        uttm.Device(ctx, store=uttm.Arena("4M"))
    with pytest.raises(TypeError, match="arena must be a uttm.Arena"):
        uttm.InsertStore(ctx)
    with pytest.raises(TypeError):
        uttm.Store()
    with pytest.raises(TypeError):
        uttm.Mapping()


def test_an_insert_store_serves_only_its_own_arena(ctx):
    store = uttm.InsertStore(uttm.Arena("64M"), "64M")
    with pytest.raises(ValueError, match="its own arena"):
        uttm.Device(ctx, store, arena=uttm.Arena("64M"))
    dev = uttm.Device(ctx, store)
    assert dev.arena is store.arena


def test_library_errors_are_os_errors_with_the_errno():
    with pytest.raises(FileNotFoundError) as info:
        uttm.FileStore("/nonexistent/directory")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent/directory"
    path = tempfile.mktemp()
    open(path, "w").close()
    try:
        with pytest.raises(FileExistsError):
            uttm.FileStore(path)
    finally:
        os.unlink(path)


def test_library_refusals_are_value_errors():
    with pytest.raises(ValueError, match="creating a compressed store"):
        uttm.CompressedStore(level=1000, compressor="zstd")


@pytest.mark.parametrize("kind", ["file", "compressed"])
def test_stores_report_their_own_figures(ctx, kind):
    dev = make_device(ctx, kind)
    bo = uttm.BufferObject(dev, "1M")
    bo.validate()
    assert ctx.shrinker.scan(pages(MiB)) == pages(MiB)
    stats = dev.store.stats
    if kind == "file":
        assert stats["slots_used"] == pages(MiB) and stats["batches"] >= 1
        assert isinstance(stats["direct"], bool)
        dev.store.trim()
    else:
        assert stats["pages"] == pages(MiB)
        assert stats["same_filled_pages"] == pages(MiB)   # zeros
        assert stats["memory_bytes"] == 0


def test_dump_and_metrics_are_text(ctx, device):
    bo = uttm.BufferObject(device, "1M")
    bo.validate()
    assert "pages allocated : 256" in ctx.dump()
    metrics = ctx.metrics()
    assert "uttm_pages_allocated{zone=\"all\"} 256" in metrics
    assert metrics.endswith("# EOF\n")


def test_the_shrinker_counts_and_scans(ctx, device):
    bos = [uttm.BufferObject(device, "1M") for _ in range(4)]
    for bo in bos:
        bo.validate()
    assert ctx.shrinker.count() == pages(4 * MiB)
    assert ctx.shrinker.scan(1) == pages(MiB)
    assert ctx.shrinker.count() == pages(3 * MiB)
    assert ctx.shrinker.trim_pools(1 << 20) >= 0
    with pytest.raises(ValueError):
        ctx.shrinker.scan(-1)


def test_the_monitor_runs_and_stops(ctx, file_device):
    with uttm.Monitor(ctx, source="poll", poll_ms=10) as monitor:
        assert monitor.source == "poll"
        assert set(monitor.stats) == {"events", "pages_freed", "last_pressure"}
    with pytest.raises(ValueError, match="stopped"):
        monitor.stats
    monitor.stop()
    auto = uttm.Monitor(ctx)
    assert auto.source in ("psi-cgroup", "psi-system", "cgroup-v1", "poll")
    auto.stop()


def test_a_monitor_that_cannot_start_is_an_os_error(ctx):
    with pytest.raises(OSError) as info:
        uttm.Monitor(ctx, source="psi-cgroup", cgroup_dir="/nonexistent")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent"


def test_fault_injector_counts_and_fails_calls(ctx):
    fault = uttm.FaultInjector("backup:nth=1000")
    dev = uttm.Device(ctx, uttm.CompressedStore(fault=fault))
    bo = uttm.BufferObject(dev, "64K")
    bo.validate()
    assert ctx.shrinker.scan(16) == 16
    assert fault.calls("backup") == 16
    bo.validate()
    fault.arm("backup:nth=1,times=100")
    assert fault.calls("backup") == 0
    assert ctx.shrinker.scan(16) == 0 and bo.resident
    fault.disarm("backup")
    assert ctx.shrinker.scan(16) == 16


def test_objects_keep_what_they_need_alive():
    """Dropping the context, device and store first frees nothing early."""
    ctx = uttm.Context(page_limit="16M")
    dev = uttm.Device(ctx, make_store("file", None))
    bo = uttm.BufferObject(dev, "1M")
    refs = [weakref.ref(bo)]
    del ctx, dev
    with bo.map() as buf:
        memoryview(buf)[:5] = b"alive"
    bo.device.context.shrinker.scan(1)
    with bo.map() as buf:
        assert bytes(memoryview(buf)[:5]) == b"alive"
    del bo, buf
    gc.collect()
    assert refs[0]() is None


def test_a_redis_store_reports_its_figures(ctx, redis_url):
    dev = uttm.Device(ctx, uttm.RedisStore(redis_url, key_prefix="py:"))
    bo = uttm.BufferObject(dev, "1M")
    bo.validate()
    assert ctx.shrinker.scan(pages(MiB)) == pages(MiB)
    stats = dev.store.stats
    assert stats["pages"] == pages(MiB) and stats["batches"] >= 1
    assert stats["key_prefix"].startswith("py:") and not stats["cluster"]


def test_an_unreachable_redis_server_is_an_os_error():
    with pytest.raises(ConnectionRefusedError):
        uttm.RedisStore("redis://127.0.0.1:1", timeout_ms=500)
