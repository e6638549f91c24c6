# SPDX-License-Identifier: MIT
"""Shared set-up of the Python tests: a context, and a device on each store.

The stores that free memory on any machine (a file, compressed RAM) run
as they are; shmem and insert are given a capacity, which makes them
accept pages without swap (the caller's promise that it is worth it), so
that every store's path runs here too; the Redis store runs against a
server of its own on loopback, started once, when redis-server is there.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import numpy as np
import pytest

import uttm

MiB = 1 << 20
STORES = ["file", "compressed", "shmem", "insert", "redis"]
REDIS = {}


def make_store(kind, arena, capacity="1G", fault=None):
    """A store of @kind for a device drawing from @arena."""
    if kind == "redis":
        return uttm.RedisStore(REDIS["url"], fault=fault)
    if kind == "file":
        return uttm.FileStore(tempfile.gettempdir(), fault=fault)
    if kind == "compressed":
        return uttm.CompressedStore(capacity, fault=fault)
    if kind == "shmem":
        return uttm.ShmemStore(capacity, fault=fault)
    return uttm.InsertStore(arena, capacity, fault=fault)


def make_device(ctx, kind, fault=None, arena_size="1G"):
    arena = uttm.Arena(arena_size)
    return uttm.Device(ctx, make_store(kind, arena, fault=fault), arena=arena)


def pattern(seed, count, dtype=np.float16):
    """Content that differs from object to object and from element to
    element, cheap to make: a multiplicative hash of the index, with the
    exponent of float16 values kept finite so that they compare equal."""
    index = np.arange(count, dtype=np.uint32)
    bits = index * np.uint32(2654435761) + np.uint32(seed * 40503 + 1)
    if dtype == np.float16:
        return (bits >> 16).astype(np.uint16).__and__(0x7bff).view(np.float16)
    return bits.astype(dtype)


def fill(bo, seed, dtype=np.float16):
    with bo.map() as buf:
        array = np.frombuffer(buf, dtype=dtype)
        array[:] = pattern(seed, array.size, dtype)
        del array


def matches(bo, seed, dtype=np.float16):
    """Whether @bo holds fill()'s content for @seed, element for element."""
    with bo.map() as buf:
        array = np.frombuffer(buf, dtype=dtype)
        same = np.array_equal(array, pattern(seed, array.size, dtype))
        del array
    return same


def pages(nbytes):
    return nbytes // uttm.PAGE_SIZE


@pytest.fixture
def ctx():
    return uttm.Context(page_limit="64M")


def redis_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    """A Redis server of the tests' own, stopped and removed at the end."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    directory = tempfile.mkdtemp()
    server = None
    try:
        for _ in range(10):
            port = 20000 + int.from_bytes(os.urandom(2), "little") % 20000
            server = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", directory],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(25):
                if redis_answers(port) or server.poll() is not None:
                    break
                time.sleep(0.1)
            if server.poll() is None and redis_answers(port):
                break
            server.kill()
            server.wait()
            server = None
        if not server:
            pytest.fail("no redis-server could be started")
        url = f"redis://127.0.0.1:{port}"
        try:
            uttm.RedisStore(url)
        except OSError as e:
            pytest.skip(f"no Redis store in this build: {e}")
        REDIS["url"] = url
        yield url
    finally:
        if server:
            server.send_signal(signal.SIGKILL)
            server.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=STORES)
def store_kind(request):
    if request.param == "redis":
        request.getfixturevalue("redis_url")
    return request.param


@pytest.fixture
def device(ctx, store_kind):
    return make_device(ctx, store_kind)


@pytest.fixture
def file_device(ctx):
    return make_device(ctx, "file")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
