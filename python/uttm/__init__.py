# SPDX-License-Identifier: MIT
"""uttm: buffers that survive memory pressure, as the kernel's TTM keeps them.

Buffer objects hold memory that the shrinker may purge (when they are
purgeable) or back up into a store (a file, compressed RAM, a memfd)
while nobody maps them, and that the next map restores, every byte
intact::

    ctx = uttm.Context(budget="256M")
    dev = uttm.Device(ctx, uttm.FileStore())
    bo = uttm.BufferObject(dev, "64M")
    with bo.map() as buf:                 # resident and pinned
        numpy.frombuffer(buf, dtype=numpy.float16)[:] = 1.5

Sizes are ints in bytes or strings in util-linux's units ("256M",
"1.5G").  Errors from the library are OSError with its errno; bad
arguments ValueError or TypeError.  Every call that may sleep releases
the GIL.  The manual is docs/python.md.
"""

from uttm._uttm import (
    PAGE_SIZE,
    Arena,
    BufferObject,
    CompressedStore,
    Context,
    Device,
    FaultInjector,
    FileStore,
    InsertStore,
    Mapping,
    Monitor,
    RedisStore,
    ShmemStore,
    Shrinker,
    Store,
    __version__,
    memory_limit,
)
from uttm._units import parse_size

__all__ = [
    "PAGE_SIZE",
    "Arena",
    "BufferObject",
    "CompressedStore",
    "Context",
    "Device",
    "FaultInjector",
    "FileStore",
    "InsertStore",
    "Mapping",
    "Monitor",
    "RedisStore",
    "ShmemStore",
    "Shrinker",
    "Store",
    "__version__",
    "memory_limit",
    "parse_size",
]
