# SPDX-License-Identifier: MIT
"""Prefetch: objects come back on the context's prefetch thread while
Python goes on, within the budget, and map() then finds them resident;
a prefetch can be withdrawn, and one nobody maps is reclaimed as usual."""

import time

import uttm
from conftest import MiB, fill, make_device, matches, pages

OBJECT = 4 * MiB


def backed_up_objects(ctx, dev, count):
    objects = [uttm.BufferObject(dev, OBJECT) for _ in range(count)]
    for seed, bo in enumerate(objects):
        fill(bo, seed)
    ctx.shrinker.scan(pages(count * OBJECT))
    assert all(bo.backed_up and not bo.resident for bo in objects)
    return objects


def wait_resident(bo, seconds=10):
    deadline = time.monotonic() + seconds
    while not bo.resident and time.monotonic() < deadline:
        time.sleep(0.01)
    return bo.resident


def test_a_prefetched_object_comes_back_without_a_map(ctx):
    dev = make_device(ctx, "file")
    objects = backed_up_objects(ctx, dev, 4)
    for bo in objects:
        bo.prefetch()
    assert all(wait_resident(bo) for bo in objects)
    assert ctx.stats["objects_prefetched"] >= len(objects)
    restored = ctx.stats["pages_restored"]
    assert all(matches(bo, seed) for seed, bo in enumerate(objects))
    assert ctx.stats["pages_restored"] == restored


def test_prefetch_stays_within_the_budget():
    ctx = uttm.Context(budget="24M")
    dev = make_device(ctx, "file")
    objects = [uttm.BufferObject(dev, OBJECT) for _ in range(12)]
    for seed, bo in enumerate(objects):
        fill(bo, seed)
    for bo in objects:
        bo.prefetch()
    assert wait_resident(objects[-1])
    assert ctx.stats["peak_resident_bytes"] <= 24 * MiB
    assert all(matches(bo, seed) for seed, bo in enumerate(objects))


def test_a_withdrawn_prefetch_leaves_the_object_to_its_map(ctx):
    dev = make_device(ctx, "file")
    bo, = backed_up_objects(ctx, dev, 1)
    assert bo.cancel_prefetch() is False
    bo.prefetch()
    bo.cancel_prefetch()
    assert matches(bo, 0)


def test_a_prefetched_object_is_reclaimed_like_any_other(ctx):
    dev = make_device(ctx, "file")
    bo, = backed_up_objects(ctx, dev, 1)
    bo.prefetch()
    assert wait_resident(bo)
    assert ctx.shrinker.scan(pages(OBJECT)) == pages(OBJECT)
    assert bo.backed_up and not bo.resident
    assert matches(bo, 0)


def test_an_object_dropped_with_a_prefetch_queued_goes(ctx):
    dev = make_device(ctx, "file")
    objects = backed_up_objects(ctx, dev, 3)
    for bo in objects:
        bo.prefetch()
    del bo, objects
    deadline = time.monotonic() + 10
    while dev.stats["objects"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dev.stats["objects"] == 0
