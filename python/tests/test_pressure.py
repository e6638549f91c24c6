# SPDX-License-Identifier: MIT
"""Arrays several times the page limit survive the shrinker, on every store."""

import threading

import numpy as np

import uttm
from conftest import MiB, fill, make_device, matches, pages

OBJECT = 4 * MiB
LIMIT = 32 * MiB


def test_arrays_four_times_the_limit_come_back_intact(store_kind):
    """Written under the page limit, which backs older objects up to make
    room, shrunk once more, then mapped back and compared element for
    element."""
    ctx = uttm.Context(page_limit=LIMIT)
    device = make_device(ctx, store_kind)
    bos = [uttm.BufferObject(device, OBJECT) for _ in range(4 * LIMIT // OBJECT)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    assert ctx.stats["pages_allocated"] <= pages(LIMIT)
    assert ctx.stats["pages_backed_up"] >= pages(3 * LIMIT)
    ctx.shrinker.scan(pages(LIMIT))
    assert ctx.stats["pages_allocated"] == 0
    mismatched = [seed for seed, bo in enumerate(bos) if not matches(bo, seed)]
    assert mismatched == []
    assert ctx.stats["pages_restored"] >= pages(4 * LIMIT - OBJECT)


def test_purgeable_objects_go_first_and_say_so(ctx, device):
    bos = [uttm.BufferObject(device, OBJECT, purgeable=i % 2 == 0)
           for i in range(8)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    freed = ctx.shrinker.scan(pages(4 * OBJECT))
    assert freed == pages(4 * OBJECT)
    stats = ctx.stats
    assert stats["pages_purged"] == pages(4 * OBJECT)
    assert stats["pages_backed_up"] == 0
    for seed, bo in enumerate(bos):
        with bo.map() as buf:
            assert buf.purged == bo.purgeable
            if buf.purged:
                assert not np.frombuffer(buf, dtype=np.uint8).any()
        assert bo.purgeable or matches(bo, seed)


def test_threads_map_their_objects_while_the_shrinker_runs(ctx, file_device):
    threads, per_thread, rounds = 4, 6, 20
    bos = [[uttm.BufferObject(file_device, "1M") for _ in range(per_thread)]
           for _ in range(threads)]
    errors, done = [], threading.Event()
    freed = []

    def worker(mine, first_seed):
        try:
            for r in range(rounds):
                for i, bo in enumerate(mine):
                    seed = first_seed + i
                    if r and not matches(bo, seed + 1000 * (r - 1)):
                        errors.append((seed, r))
                    fill(bo, seed + 1000 * r)
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    def shrinker():
        while not done.is_set():
            freed.append(ctx.shrinker.scan(512))

    workers = [threading.Thread(target=worker, args=(bos[t], 100 * t))
               for t in range(threads)]
    scanner = threading.Thread(target=shrinker)
    scanner.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    scanner.join()
    assert errors == []
    assert sum(freed) > 0
    assert ctx.stats["pages_restored"] > 0
