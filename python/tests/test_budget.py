# SPDX-License-Identifier: MIT
"""The memory budget: set in human units, checked against the machine,
held while arrays several times it are written and read back; reclaim on
demand; the compressed store as a tier over a file store."""

import tempfile

import pytest

import uttm
from conftest import MiB, fill, make_device, matches, pages
from test_gil import handles_seen_during, midway

OBJECT = 4 * MiB
BUDGET = 32 * MiB


def test_the_budget_reads_sizes_as_the_other_sizes():
    assert uttm.Context(budget="64M").budget == 64 * MiB
    assert uttm.Context(budget=48 * MiB).budget == 48 * MiB
    assert uttm.Context().budget == 0
    ctx = uttm.Context()
    ctx.budget = "1.5M"
    assert ctx.budget == 3 * MiB // 2 and ctx.stats["budget"] == ctx.budget
    ctx.budget = 0
    assert ctx.budget == 0


@pytest.mark.parametrize("budget,error", [
    (-1, ValueError), ("1X", ValueError), (1.5, TypeError), (True, TypeError),
    (1 << 64, ValueError), (None, TypeError),
], ids=["negative", "bad-unit", "float", "bool", "huge", "none"])
def test_bad_budgets(budget, error):
    with pytest.raises(error):
        uttm.Context(budget=budget)
    ctx = uttm.Context(budget="16M")
    with pytest.raises(error):
        ctx.budget = budget
    assert ctx.budget == 16 * MiB


def test_the_budget_cannot_be_deleted():
    ctx = uttm.Context(budget="16M")
    with pytest.raises(AttributeError, match="set it to 0"):
        del ctx.budget
    assert ctx.budget == 16 * MiB


def test_the_memory_limit_is_the_lower_of_ram_and_cgroup():
    limit = uttm.memory_limit()
    assert set(limit) == {"ram_bytes", "cgroup_bytes", "bytes"}
    assert limit["ram_bytes"] > 0
    cgroup = limit["cgroup_bytes"]
    assert cgroup is None or cgroup > 0
    assert limit["bytes"] == min(limit["ram_bytes"], cgroup or limit["ram_bytes"])


def test_a_budget_above_the_machine_is_refused_naming_the_limit():
    limit = uttm.memory_limit()
    which = ("memory cgroup's limit" if (limit["cgroup_bytes"] or 1 << 64)
             < limit["ram_bytes"] else "machine's memory")
    above = limit["bytes"] + MiB
    with pytest.raises(ValueError, match=f"{which} \\({limit['bytes']} bytes"):
        uttm.Context(budget=above)
    ctx = uttm.Context(budget="16M")
    with pytest.raises(ValueError, match=which):
        ctx.budget = above
    assert ctx.budget == 16 * MiB
    ctx.budget = limit["bytes"]
    assert ctx.budget == limit["bytes"]


def test_stats_carry_the_budget_figures():
    ctx = uttm.Context(budget=BUDGET)
    device = make_device(ctx, "file")
    bo = uttm.BufferObject(device, OBJECT)
    fill(bo, 1)
    stats = ctx.stats
    assert stats["budget"] == BUDGET and stats["pressure_limit"] == 0
    assert stats["resident_bytes"] >= OBJECT
    assert stats["metadata_bytes"] > 0
    assert stats["store_bytes"] <= stats["resident_bytes"]
    assert OBJECT <= stats["peak_resident_bytes"] <= BUDGET


def test_arrays_four_times_the_budget_stay_under_it():
    """The budget, not a page limit, makes room: older objects are backed
    up as newer ones are written, and the accounted peak never passes it."""
    ctx = uttm.Context(budget=BUDGET)
    device = make_device(ctx, "file")
    bos = [uttm.BufferObject(device, OBJECT) for _ in range(4 * BUDGET // OBJECT)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    assert ctx.stats["pages_backed_up"] >= pages(3 * BUDGET)
    mismatched = [seed for seed, bo in enumerate(bos) if not matches(bo, seed)]
    assert mismatched == []
    stats = ctx.stats
    assert stats["pages_restored"] > 0
    assert stats["peak_resident_bytes"] <= BUDGET


def test_lowering_the_budget_reclaims_at_once():
    ctx = uttm.Context(budget=BUDGET)
    device = make_device(ctx, "file")
    bos = [uttm.BufferObject(device, OBJECT) for _ in range(4)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    ctx.budget = 2 * OBJECT
    assert ctx.stats["resident_bytes"] <= 2 * OBJECT
    assert all(matches(bo, seed) for seed, bo in enumerate(bos))


def test_reclaim_frees_what_the_budget_counts():
    ctx = uttm.Context(budget=BUDGET)
    device = make_device(ctx, "file")
    bos = [uttm.BufferObject(device, OBJECT, purgeable=i == 0) for i in range(4)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    before = ctx.stats["resident_bytes"]
    freed = ctx.reclaim(2 * OBJECT)
    after = ctx.stats
    assert freed >= 2 * OBJECT and after["resident_bytes"] <= before - freed
    assert after["pages_purged"] == pages(OBJECT)
    assert all(matches(bo, seed) for seed, bo in enumerate(bos) if seed)
    for bad, error in (("1X", ValueError), (-1, ValueError), (1.5, TypeError)):
        with pytest.raises(error):
            ctx.reclaim(bad)


def test_reclaim_releases_the_gil():
    ctx = uttm.Context(budget="256M")
    device = make_device(ctx, "file")
    bo = uttm.BufferObject(device, 64 * MiB)
    fill(bo, 3)
    seen = handles_seen_during(device.store, lambda: ctx.reclaim(64 * MiB))
    assert midway(seen, pages(64 * MiB))


def test_a_compressed_store_restores_from_both_tiers():
    """A cap of a quarter of what is written: most pages move down to the
    file, the rest stay compressed, and every element comes back."""
    ctx = uttm.Context(page_limit="64M")
    lower = uttm.FileStore(tempfile.gettempdir())
    store = uttm.CompressedStore("8M", lower=lower)
    assert store.lower is lower
    device = uttm.Device(ctx, store)
    bos = [uttm.BufferObject(device, OBJECT) for _ in range(8)]
    for seed, bo in enumerate(bos):
        fill(bo, seed)
    ctx.shrinker.scan(pages(8 * OBJECT))
    held = store.stats
    assert held["pages"] == pages(8 * OBJECT)
    assert 0 < held["lower_pages"] < held["pages"]
    assert lower.handles == held["lower_pages"]
    mismatched = [seed for seed, bo in enumerate(bos) if not matches(bo, seed)]
    assert mismatched == []
    assert store.handles == 0 and lower.handles == 0


def test_the_lower_store_lives_as_long_as_the_compressed_one():
    lower = uttm.FileStore(tempfile.gettempdir())
    store = uttm.CompressedStore("1M", lower=lower)
    del lower
    assert isinstance(store.lower, uttm.FileStore)
    assert uttm.CompressedStore().lower is None


def test_a_lower_store_must_copy_pages_in(ctx):
    with pytest.raises(TypeError, match="lower must be a uttm.Store"):
        uttm.CompressedStore(lower=uttm.Arena("4M"))
    insert = uttm.InsertStore(uttm.Arena("4M"), "4M")
    with pytest.raises(ValueError, match="compressed store"):
        uttm.CompressedStore(lower=insert)
