#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A KV-cache block store for an inference server, several times its memory budget.

Each sequence being served keeps its attention keys and values in blocks
of float16 (16 tokens x 16 layers x K and V x 8 heads x 128 dims, 1 MiB),
one uttm.BufferObject each.  The blocks of all sequences together are
four times the budget.  Prompt blocks are purgeable: under pressure uttm
drops them instead of writing them out, and the server recomputes them
(a prefill) when it finds them gone.  Generated blocks are backed up to a
file and restored when read.

Each decode step reads every block of a batch of sequences (attention),
block by block, and appends a token to each.  The scheduler knows the
next batch one step ahead, so it asks uttm to prefetch that batch's
blocks (BufferObject.prefetch()): the context's prefetch thread restores
them, within the budget, while the current step computes.  The run does
the same steps without and then with that prefetch, and reports for each
the share of block reads that found the block resident, restore
latencies and purges; then the peak memory against the budget: uttm's,
as its context accounts it against the share of the budget the process
leaves it, and the whole process's, as the kernel counts it.  Every
block read is checked against what was written, and a last pass checks
all of them.
"""

import argparse
import ctypes
import mmap
import os
import stat
import sys
import threading
import time

import numpy as np

import uttm

MiB = 1 << 20
TOKENS = 16                      # token slots per block
BLOCK_SHAPE = (TOKENS, 16, 2, 8, 128)   # tokens, layers, K/V, heads, dims
BLOCK_BYTES = int(np.prod(BLOCK_SHAPE)) * 2
PROMPT_BLOCKS = 4                # per sequence, purgeable: recomputable
FINITE = np.uint16(0x7BFF)       # float16 bits with a finite exponent


def process_memory():
    """The process's memory as the kernel counts it, as `uttm run` measures
    it without a cgroup of its own: the proportional set size (each page
    once, though the arena and a block's mapping both map it) plus the
    page cache of the files it holds open without mapping them, the
    stores' files."""
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024 + unmapped_files_resident()
    raise RuntimeError("no Pss in /proc/self/smaps_rollup")


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.mmap.restype = ctypes.c_void_p
LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
MAP_FAILED = ctypes.c_void_p(-1).value


def resident_bytes(fd, size):
    """Pages of the file behind @fd in memory, as mincore() sees them."""
    addr = LIBC.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr in (None, MAP_FAILED):
        return 0
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = ctypes.create_string_buffer(pages)
    resident = 0
    if LIBC.mincore(addr, size, vec) == 0:
        resident = sum(b & 1 for b in vec.raw) * mmap.PAGESIZE
    LIBC.munmap(addr, size)
    return resident


def unmapped_files_resident():
    with open("/proc/self/maps") as f:
        mapped = {(fields[3], fields[4]) for fields in map(str.split, f)
                  if len(fields) > 4 and fields[4] != "0"}
    total = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(int(name))
        except OSError:
            continue
        device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
        if (stat.S_ISREG(st.st_mode) and st.st_size
                and (device, str(st.st_ino)) not in mapped):
            total += resident_bytes(int(name), st.st_size)
    return total


class PeakSampler(threading.Thread):
    """Samples the process's memory every few milliseconds."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = process_memory()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.005):
            self.peak = max(self.peak, process_memory())

    def stop(self):
        self.stopping.set()
        self.join()
        return max(self.peak, process_memory())


class Block:
    """One KV block: its buffer object and what it should hold.

    Token slot t of block k holds BASE + k (float16 bits) up to the slots
    filled so far, zeros after."""

    BASE = ((np.arange(BLOCK_BYTES // 2, dtype=np.uint32) * np.uint32(2654435761))
            >> np.uint32(16)).astype(np.uint16)
    SLOT = BLOCK_BYTES // 2 // TOKENS

    def __init__(self, device, key, prompt):
        self.key = key
        self.prompt = prompt
        self.filled = TOKENS if prompt else TOKENS // 2
        self.bo = uttm.BufferObject(device, BLOCK_BYTES, purgeable=prompt)

    def expected(self, slots):
        return ((self.BASE[: slots * self.SLOT] + np.uint16(self.key)) & FINITE)

    def write(self, bits, first, last):
        bits[first * self.SLOT: last * self.SLOT] = self.expected(last)[first * self.SLOT:]

    def check(self, bits):
        end = self.filled * self.SLOT
        return (np.array_equal(bits[:end], self.expected(self.filled))
                and not bits[end:].any())


class Server:
    def __init__(self, args):
        self.args = args
        baseline = process_memory()
        # uttm's budget is what the process has left once the interpreter
        # and numpy are in, less a sixteenth for the arrays numpy makes
        # while it checks and writes blocks: it holds the blocks, the pool,
        # the store's memory and the bookkeeping under the rest.
        self.budget = args.budget - baseline - args.budget // 16
        if self.budget < 8 * BLOCK_BYTES:
            sys.exit(f"kv_cache: a budget of {args.budget // MiB} MiB leaves no "
                     f"room: the process already holds {baseline // MiB} MiB")
        self.ctx = uttm.Context(budget=self.budget)
        store = (uttm.CompressedStore(args.budget // 4) if args.store == "compressed"
                 else uttm.FileStore(args.store_path))
        self.dev = uttm.Device(self.ctx, store, pool_size=args.budget // 32)
        self.rng = np.random.default_rng(args.seed)
        self.sequences = [
            [Block(self.dev, s * args.blocks + b, b < PROMPT_BLOCKS)
             for b in range(args.blocks)]
            for s in range(args.sequences)]
        self.mismatches = 0
        self.verified = 0

    def fill(self):
        for blocks in self.sequences:
            for block in blocks:
                with block.bo.map() as buf:
                    bits = np.frombuffer(buf, dtype=np.uint16)
                    block.write(bits, 0, block.filled)
                    del bits

    def read(self, block, stats, append=True):
        """Attention over one block: map it (restoring or recomputing it),
        check it, compute with it, and append a token to a growing block."""
        start = time.perf_counter()
        with block.bo.map() as buf:
            waited = time.perf_counter() - start
            bits = np.frombuffer(buf, dtype=np.uint16)
            if buf.purged:
                stats["recomputed"] += 1
                block.write(bits, 0, block.filled)       # a prefill
            elif buf.restored:
                stats["restores"].append(waited)
            else:
                stats["hits"] += 1
            stats["reads"] += 1
            if not block.check(bits):
                self.mismatches += 1
            self.verified += BLOCK_BYTES
            kv = bits.view(np.float16).reshape(BLOCK_SHAPE)
            stats["attention"] += float(kv[: block.filled, 0, 0, 0, :8].sum(dtype=np.float32))
            if append and not block.prompt and block.filled < TOKENS:
                block.write(bits, block.filled, block.filled + 1)
                block.filled += 1
            del bits, kv

    def schedule(self, steps):
        """Batches of sequences, most of them from a hot fifth."""
        hot = max(self.args.batch, self.args.sequences // 5)
        batches = []
        for _ in range(steps):
            pool = hot if self.rng.random() < 0.7 else self.args.sequences
            batches.append(self.rng.choice(pool, self.args.batch, replace=False))
        return batches

    def phase(self, steps, prefetch):
        stats = {"reads": 0, "hits": 0, "recomputed": 0, "restores": [],
                 "attention": 0.0, "prefetched": 0}
        batches = self.schedule(steps)
        started = time.perf_counter()
        for step, batch in enumerate(batches):
            if prefetch and step + 1 < len(batches):
                self.prefetch(batches[step + 1], stats)
            for s in batch:
                for block in self.sequences[s]:
                    self.read(block, stats)
        stats["seconds"] = time.perf_counter() - started
        return stats

    def prefetch(self, batch, stats):
        """Starts bringing the next batch's blocks back, ahead of the step."""
        for s in batch:
            for block in self.sequences[s]:
                block.bo.prefetch()
                stats["prefetched"] += 1

    def check_all(self):
        stats = {"reads": 0, "hits": 0, "recomputed": 0, "restores": [],
                 "attention": 0.0}
        for blocks in self.sequences:
            for block in blocks:
                self.read(block, stats, append=False)


def percentile(values, share):
    if not values:
        return float("nan")
    return sorted(values)[min(len(values) - 1, int(share * len(values)))] * 1e3


def report(name, stats):
    reads = stats["reads"]
    print(f"  {name:<22} {stats['hits'] / reads:>6.1%} hits   "
          f"{len(stats['restores']):>5} restores "
          f"(p50 {percentile(stats['restores'], 0.5):5.2f} ms, "
          f"p99 {percentile(stats['restores'], 0.99):5.2f} ms)   "
          f"{stats['recomputed']:>4} recomputed   "
          f"{reads / stats['seconds']:>6.0f} blocks/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=uttm.parse_size, default="256M",
                        help="memory budget of the whole process (default 256M)")
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=16,
                        help="1 MiB blocks per sequence (default 16)")
    parser.add_argument("--batch", type=int, default=4,
                        help="sequences per decode step (default 4)")
    parser.add_argument("--steps", type=int, default=40,
                        help="decode steps per phase (default 40)")
    parser.add_argument("--store", choices=["file", "compressed"], default="file")
    parser.add_argument("--store-path", default=None,
                        help="directory of the file store (default: $TMPDIR)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    sampler = PeakSampler()
    sampler.start()
    started = time.perf_counter()
    server = Server(args)
    total = args.sequences * args.blocks * BLOCK_BYTES
    print(f"uttm {uttm.__version__}: {args.sequences} sequences x {args.blocks} "
          f"blocks of {BLOCK_BYTES // MiB} MiB float16 = {total // MiB} MiB, "
          f"{total / args.budget:.1f}x the budget of {args.budget // MiB} MiB; "
          f"{PROMPT_BLOCKS} prompt blocks per sequence purgeable; {args.store} store")
    server.fill()
    print(f"decode: {args.steps} steps of {args.batch} sequences, each reading "
          "all its blocks")
    report("without prefetch", server.phase(args.steps, prefetch=False))
    report("prefetching next step", server.phase(args.steps, prefetch=True))
    server.check_all()
    peak = sampler.stop()
    stats = server.ctx.stats
    accounted = stats["peak_resident_bytes"]
    print(f"pages: {stats['pages_backed_up']} backed up, {stats['pages_restored']} "
          f"restored, {stats['pages_purged']} purged")
    print(f"peak memory of uttm {accounted / MiB:.0f} MiB of its "
          f"{server.budget / MiB:.0f} MiB budget ({accounted / server.budget:.2f}x; "
          "the context's accounts)")
    print(f"peak memory of the process {peak / MiB:.0f} MiB of the "
          f"{args.budget // MiB} MiB budget ({peak / args.budget:.2f}x; "
          "proportional set size and the store files' page cache, sampled)")
    within = accounted <= server.budget and peak <= args.budget
    print(f"verified {server.verified / (1 << 30):.1f} GiB, {server.mismatches} "
          f"mismatches, {'under' if within else 'OVER'} the budget, "
          f"{time.perf_counter() - started:.0f} s")
    return 1 if server.mismatches or not within else 0


if __name__ == "__main__":
    sys.exit(main())
