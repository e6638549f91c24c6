# SPDX-License-Identifier: MIT
"""Mappings: zero-copy buffers, purge visibility, and views that never dangle."""

import gc
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import uttm
from conftest import MiB, fill, matches, pages


def test_numpy_sees_the_objects_memory_without_a_copy(file_device):
    bo = uttm.BufferObject(file_device, "1M")
    with bo.map() as buf:
        array = np.frombuffer(buf, dtype=np.float16)
        view = memoryview(buf)
        assert array.size == MiB // 2 and len(buf) == MiB
        assert view.nbytes == MiB and not view.readonly and view.format == "B"
        array[7] = 1.5
        assert bytes(view[14:16]) == np.float16(1.5).tobytes()
        assert np.shares_memory(array, np.frombuffer(buf, dtype=np.uint8))
        del array, view


def test_new_objects_read_as_zeros(file_device):
    bo = uttm.BufferObject(file_device, "1M")
    with bo.map() as buf:
        assert not np.frombuffer(buf, dtype=np.uint64).any()
        assert not buf.purged and not buf.restored


def test_the_object_is_pinned_while_mapped_and_reclaimable_after(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M")
    with bo.map() as buf:
        assert ctx.shrinker.scan(1 << 20) == 0
        assert file_device.stats["pinned"] == 1
    assert buf.closed and file_device.stats["pinned"] == 0
    assert ctx.shrinker.scan(1 << 20) == pages(MiB)
    assert bo.backed_up and not bo.resident


def test_a_restored_object_says_so(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M")
    fill(bo, 1)
    ctx.shrinker.scan(1 << 20)
    with bo.map() as buf:
        assert buf.restored and not buf.purged
    assert matches(bo, 1)


def test_a_purge_is_reported_by_the_next_mapping_only(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M", purgeable=True)
    fill(bo, 2)
    assert bo.purgeable
    assert ctx.shrinker.scan(1 << 20) == pages(MiB)
    with bo.map() as buf:
        assert buf.purged and not buf.restored
        assert not np.frombuffer(buf, dtype=np.uint8).any()
    with bo.map() as buf:
        assert not buf.purged


def test_a_purge_seen_by_validate_is_still_reported_by_map(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M", purgeable=True)
    bo.validate()
    ctx.shrinker.scan(1 << 20)
    assert bo.validate() is True
    assert bo.validate() is False
    with bo.map() as buf:
        assert buf.purged


def test_an_object_made_non_purgeable_is_backed_up_instead(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M", purgeable=True)
    fill(bo, 3)
    bo.purgeable = False
    ctx.shrinker.scan(1 << 20)
    assert bo.backed_up and matches(bo, 3)


def test_a_closed_mapping_refuses_new_views(file_device):
    bo = uttm.BufferObject(file_device, "64K")
    buf = bo.map()
    buf.close()
    buf.close()
    with pytest.raises(BufferError, match="closed"):
        memoryview(buf)
    with pytest.raises(ValueError, match="closed"):
        with buf:
            pass


def test_mappings_of_one_object_nest(ctx, file_device):
    bo = uttm.BufferObject(file_device, "64K")
    with bo.map() as outer:
        with bo.map() as inner:
            memoryview(inner)[0] = 42
        assert memoryview(outer)[0] == 42
        assert ctx.shrinker.scan(1 << 20) == 0
    assert ctx.shrinker.scan(1 << 20) == 16


def test_a_view_kept_past_the_block_keeps_the_object_pinned(ctx, file_device):
    bo = uttm.BufferObject(file_device, "1M")
    with pytest.warns(ResourceWarning, match="1 views alive"):
        with bo.map() as buf:
            kept = np.frombuffer(buf, dtype=np.uint8)
    assert ctx.shrinker.scan(1 << 20) == 0
    kept[:] = 9
    assert (kept == 9).all() and file_device.stats["pinned"] == 1
    del kept
    assert file_device.stats["pinned"] == 0
    assert ctx.shrinker.scan(1 << 20) == pages(MiB)
    with bo.map() as buf:
        assert (np.frombuffer(buf, dtype=np.uint8) == 9).all()


def test_a_mapping_dropped_without_close_unpins(ctx, file_device):
    bo = uttm.BufferObject(file_device, "64K")
    bo.map()
    gc.collect()
    assert file_device.stats["pinned"] == 0


CRASH_SCRIPT = textwrap.dedent("""
    import gc, warnings
    import numpy as np
    import uttm

    warnings.simplefilter("ignore", ResourceWarning)
    ctx = uttm.Context(page_limit="16M")
    dev = uttm.Device(ctx, uttm.FileStore())
    bo = uttm.BufferObject(dev, "8M")
    with bo.map() as buf:
        kept = np.frombuffer(buf, dtype=np.uint8)
        view = memoryview(buf)[4096:]
    del buf
    # Everything else, the object included, is dropped and the shrinker
    # and the page limit try hard to take its pages.
    others = [uttm.BufferObject(dev, "8M") for _ in range(4)]
    for other in others:
        other.validate()
    del bo, others
    gc.collect()
    ctx.shrinker.scan(1 << 30)
    kept[:] = 7
    view[:4096] = b"x" * 4096
    assert (kept[:4096] == 7).all() and (kept[8192:] == 7).all()
    assert (kept[4096:8192] == ord("x")).all()
    print("survived")
""")


def test_a_view_kept_past_the_block_cannot_crash_the_interpreter():
    done = subprocess.run([sys.executable, "-c", CRASH_SCRIPT],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "survived" in done.stdout


def test_a_purge_seen_by_another_threads_validate_is_reported(ctx, file_device):
    """A prefetching thread's validate may be the one that sees the purge;
    the mapping made meanwhile must still report it."""
    bo = uttm.BufferObject(file_device, "64K", purgeable=True)
    unreported = 0
    for _ in range(300):
        fill(bo, 8)
        assert ctx.shrinker.scan(16) == 16
        prefetch = threading.Thread(target=bo.validate)
        prefetch.start()
        with bo.map() as buf:
            zeros = not np.frombuffer(buf, dtype=np.uint8).any()
            unreported += zeros and not buf.purged
        prefetch.join()
    assert unreported == 0


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import uttm

    ctx = uttm.Context(page_limit="16M")
    dev = uttm.Device(ctx, uttm.FileStore())
    bo = uttm.BufferObject(dev, "1M")
    with bo.map() as buf:
        memoryview(buf)[0] = 1
    pid = os.fork()
    if pid == 0:
        try:
            bo.map()
        except ValueError as e:
            os._exit(0 if "fork()" in str(e) else 2)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    with bo.map() as buf:
        assert memoryview(buf)[0] == 1
    print("child", os.waitstatus_to_exitcode(status))
""")


def test_a_child_of_fork_is_told_to_make_its_own_objects():
    done = subprocess.run([sys.executable, "-c", FORK_SCRIPT],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "child 0" in done.stdout
