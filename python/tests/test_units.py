# SPDX-License-Identifier: MIT
"""Sizes in human units mean what util-linux (and `uttm run`) means."""

import pytest

import uttm

MiB = 1 << 20

GOOD = [
    ("4096", 4096), ("0", 0), ("8G", 8 << 30), ("8g", 8 << 30),
    ("256m", 256 * MiB), ("512M", 512 * MiB), ("1K", 1024), ("1k", 1024),
    ("1KiB", 1024), ("1KB", 1000), ("1kB", 1000), ("1MB", 1000000),
    ("2MiB", 2 * MiB), ("3T", 3 << 40), ("1E", 1 << 60),
    ("1EB", 10**18), ("1.5G", 3 << 29), ("0.5K", 512), ("1.5MB", 1500000),
    ("1.0009765625K", 1025), ("18446744073709551615", (1 << 64) - 1),
]
MALFORMED = [
    "", "G", "8X", "8GG", "-1", "+1", "8 G", " 8G", "8G ", "1.5", "1.",
    ".5G", "1.5.5G", "8Gi", "8GIB", "8Gb", "8gb", "1b", "0x10", "1e3",
    "\u0668K",
]
TOO_BIG = ["99999999999999999999", "18446744073709551616", "16E",
           "20000000T", "16.0E", "17179869184G"]


@pytest.mark.parametrize("text,size", GOOD)
def test_sizes_read_as_util_linux_reads_them(text, size):
    assert uttm.parse_size(text) == size


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_sizes_are_value_errors(text):
    with pytest.raises(ValueError, match="malformed size"):
        uttm.parse_size(text)


@pytest.mark.parametrize("text", TOO_BIG)
def test_sizes_past_64_bits_are_value_errors(text):
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        uttm.parse_size(text)


def test_only_strings_are_parsed():
    with pytest.raises(TypeError):
        uttm.parse_size(4096)


def test_every_size_argument_takes_units_and_ints():
    assert uttm.Arena("8M").stats["max_bytes"] == 8 * MiB
    assert uttm.Arena(8 * MiB).stats["max_bytes"] == 8 * MiB
    ctx = uttm.Context(page_limit="1.5M")
    assert ctx.stats["page_limit"] == (3 * MiB // 2) // uttm.PAGE_SIZE
