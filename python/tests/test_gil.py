# SPDX-License-Identifier: MIT
"""Calls that sleep let other threads run: another thread sees the store
fill and empty while one thread backs an object up and restores it."""

import threading

import uttm
from conftest import MiB, fill, make_device, pages

SIZE = 64 * MiB


def handles_seen_during(store, call):
    """The store's handle counts another thread saw while @call ran."""
    seen, running = set(), threading.Event()

    def watch():
        running.set()
        while running.is_set():
            seen.add(store.handles)

    watcher = threading.Thread(target=watch)
    watcher.start()
    running.wait()
    try:
        call()
    finally:
        running.clear()
        watcher.join()
    return seen


def midway(seen, total):
    return any(0 < n < total for n in seen)


def test_shrinking_releases_the_gil():
    ctx = uttm.Context(page_limit="256M")
    dev = make_device(ctx, "file")
    bo = uttm.BufferObject(dev, SIZE)
    fill(bo, 9)
    seen = handles_seen_during(dev.store, lambda: ctx.shrinker.scan(pages(SIZE)))
    assert midway(seen, pages(SIZE))


def test_restoring_releases_the_gil_on_any_thread():
    ctx = uttm.Context(page_limit="256M")
    dev = make_device(ctx, "file")
    bo = uttm.BufferObject(dev, SIZE)
    for restore_on_main_thread in (True, False):
        fill(bo, 10)
        ctx.shrinker.scan(pages(SIZE))
        if restore_on_main_thread:
            seen = handles_seen_during(dev.store, bo.validate)
        else:
            worker = threading.Thread(target=bo.validate)
            seen = handles_seen_during(dev.store, lambda: (worker.start(), worker.join()))
        assert bo.resident and midway(seen, pages(SIZE))
