# SPDX-License-Identifier: MIT
"""Failed and interrupted restores keep their state and resume."""

import errno
import os
import signal
import threading
import time

import numpy as np
import pytest

import uttm
from conftest import MiB, fill, make_device, matches, pages


@pytest.mark.parametrize("kind", ["file", "compressed", "shmem"])
def test_a_failed_restore_is_an_os_error_and_resumes(ctx, kind):
    fault = uttm.FaultInjector()
    dev = make_device(ctx, kind, fault=fault)
    bo = uttm.BufferObject(dev, "4M")
    fill(bo, 5)
    ctx.shrinker.scan(1 << 20)
    fault.arm("restore:nth=300,err=EIO")
    with pytest.raises(OSError) as info:
        bo.map()
    assert info.value.errno == errno.EIO
    assert "mapping a buffer object" in str(info.value)
    assert bo.backed_up and not bo.resident
    assert 0 < dev.store.handles < pages(4 * MiB)
    assert dev.stats["pinned"] == 0
    assert matches(bo, 5)
    assert dev.store.handles == 0


def test_an_injected_interruption_is_an_interrupted_error(ctx):
    fault = uttm.FaultInjector()
    dev = make_device(ctx, "file", fault=fault)
    bo = uttm.BufferObject(dev, "1M")
    fill(bo, 6)
    ctx.shrinker.scan(1 << 20)
    fault.arm("restore:nth=1,err=EINTR")
    with pytest.raises(InterruptedError):
        bo.validate()
    assert matches(bo, 6)


def test_a_failed_allocation_is_an_os_error(ctx):
    fault = uttm.FaultInjector("alloc:nth=1,times=1000")
    dev = uttm.Device(ctx, uttm.FileStore(), arena=uttm.Arena("64M", fault=fault))
    bo = uttm.BufferObject(dev, "1M")
    with pytest.raises(OSError) as info:
        bo.map()
    assert info.value.errno == errno.ENOMEM
    fault.disarm("alloc")
    with bo.map() as buf:
        assert len(buf) == MiB


def interrupt_once_restoring(store, total, seen):
    """SIGINT to the process as soon as the restore has begun."""
    deadline = time.monotonic() + 60
    while store.handles == total and time.monotonic() < deadline:
        time.sleep(0.0005)
    seen.append(store.handles)
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="Python delivers signals to the main thread only")
def test_keyboard_interrupt_stops_a_long_restore_which_then_resumes():
    ctx = uttm.Context(page_limit="1G")
    dev = make_device(ctx, "file", arena_size="2G")
    size = 128 * MiB
    bo = uttm.BufferObject(dev, size)
    fill(bo, 7, dtype=np.uint32)
    assert ctx.shrinker.scan(pages(size)) == pages(size)
    total = dev.store.handles
    restored_before = ctx.stats["pages_restored"]
    seen = []
    watcher = threading.Thread(target=interrupt_once_restoring,
                               args=(dev.store, total, seen))
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            bo.map()
    finally:
        watcher.join()
    left = dev.store.handles
    assert seen and seen[0] < total, "the restore never started"
    assert 0 < left < total, "the interrupt did not stop the restore midway"
    assert bo.backed_up and dev.stats["pinned"] == 0
    assert matches(bo, 7, dtype=np.uint32)
    # Resumed, not restarted: every page came back exactly once.
    assert ctx.stats["pages_restored"] - restored_before == pages(size)
