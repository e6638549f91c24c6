# SPDX-License-Identifier: MIT
"""Objects give everything back when Python frees them."""

import gc
import os
import sys
import weakref

import numpy as np

import uttm
from conftest import MiB, rss_bytes


def cycle(dev, i):
    bo = uttm.BufferObject(dev, "64K", purgeable=i % 3 == 0)
    with bo.map() as buf:
        array = np.frombuffer(buf, dtype=np.uint32)
        array[::1024] = i
        del array
    return weakref.ref(bo)


# ASan keeps freed memory in quarantine, so the process's memory says
# nothing of leaks there; the library's counters and the references do.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def test_ten_thousand_create_map_delete_cycles_leak_nothing(ctx, file_device):
    for i in range(500):
        cycle(file_device, i)
    gc.collect()
    baseline, device_refs = rss_bytes(), sys.getrefcount(file_device)
    refs = [cycle(file_device, i) for i in range(10000)]
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert sys.getrefcount(file_device) == device_refs
    assert ctx.stats["objects"] == 0 and ctx.stats["pages_allocated"] == 0
    assert file_device.stats["pinned"] == 0
    assert file_device.store.handles == 0
    # The heap may wobble; 10,000 leaked objects (each with its page
    # vector, mapping and Python wrappers) would be several MiB.
    if not UNDER_ASAN:
        assert rss_bytes() - baseline < 2 * MiB


def open_files():
    """The process's open files, as (descriptor, what it is) pairs."""
    files = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            files.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except FileNotFoundError:
            pass  # the descriptor listdir itself used
    return files


def test_a_whole_world_dropped_gives_everything_back():
    """The arena's memfd and the store's file are closed, whatever order
    the program drops the objects in."""
    before = open_files()
    ctx = uttm.Context(page_limit="64M")
    dev = uttm.Device(ctx, uttm.FileStore())
    bos = [uttm.BufferObject(dev, "4M") for _ in range(8)]
    for bo in bos:
        bo.validate()
    ctx.shrinker.scan(1024)
    assert dev.arena.stats["pages_allocated"] == 7 * 1024
    opened = open_files() - before
    assert any("memfd:" in what for _, what in opened)
    refs = [weakref.ref(bo) for bo in bos]
    del ctx, dev, bos, bo
    gc.collect()
    assert all(r() is None for r in refs)
    assert not open_files() & opened
