#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What mapping an already resident object costs from Python over C.

The same work on each side, interleaved round by round: BufferObject.map()
and the end of its with block, against the C calls they make (map_c:
lock, validate, vmap, pin, unlock; lock, unpin, unlock).  Prints the
medians in nanoseconds per map and the difference, the figure the Python
module answers for (at most 2 us); --json prints one JSON object with
c_map_ns, python_map_ns and python_overhead_ns.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import uttm


def python_round(bo, iterations):
    start = time.perf_counter_ns()
    for _ in range(iterations):
        with bo.map():
            pass
    return (time.perf_counter_ns() - start) / iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("map_c", help="the C side's program")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--iterations", type=int, default=100000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ctx = uttm.Context()
    dev = uttm.Device(ctx, arena=uttm.Arena("64M"))
    bo = uttm.BufferObject(dev, "1M")
    bo.validate()
    c_ns, py_ns = [], []
    for _ in range(args.rounds):
        done = subprocess.run([args.map_c, "3", str(args.iterations)],
                              check=True, capture_output=True, text=True)
        c_ns.append(float(done.stdout))
        py_ns.append(python_round(bo, args.iterations))
    figures = {
        "c_map_ns": statistics.median(c_ns),
        "python_map_ns": statistics.median(py_ns),
        "rounds": args.rounds,
        "iterations": args.iterations,
    }
    figures["python_overhead_ns"] = figures["python_map_ns"] - figures["c_map_ns"]
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{'map of a resident 1 MiB object':<34} {'ns/map':>8}")
        print(f"{'  C (lock, validate, vmap, pin...)':<34} {figures['c_map_ns']:>8.0f}")
        print(f"{'  Python (with bo.map())':<34} {figures['python_map_ns']:>8.0f}")
        print(f"{'  Python over C':<34} {figures['python_overhead_ns']:>8.0f}"
              f"   ({figures['python_map_ns'] / figures['c_map_ns']:.1f}x; "
              f"medians of {args.rounds} rounds of {args.iterations})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
