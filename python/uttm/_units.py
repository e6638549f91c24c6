# SPDX-License-Identifier: MIT
"""Sizes in human units, read as util-linux reads them.

The same string means the same bytes to uttm.Context(page_limit=...) as to
`uttm run --budget` and `truncate --size`: K, KiB and k are 1024, KB is
1000, likewise M, G, T, P and E, and a fraction is allowed with a unit
("1.5G").
"""

import re

_UNITS = "KMGTPE"
_SIZE = re.compile(r"(\d+)(?:\.(\d+))?(.*)", re.ASCII | re.DOTALL)
_LIMIT = 1 << 64


def _multiplier(unit):
    if not unit:
        return 1
    power = _UNITS.find(unit[0].upper()) + 1
    if not power:
        return 0
    if unit[1:] in ("", "iB"):
        return 1024**power
    if unit[1:] == "B":
        return 1000**power
    return 0


def parse_size(text):
    """Return the bytes a size such as "4M", "1.5GiB" or "4096" means.

    Raises ValueError for a malformed size or one that does not fit in 64
    bits, TypeError for anything but a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"a size is a str, not {type(text).__name__}")
    match = _SIZE.fullmatch(text)
    mult = _multiplier(match.group(3)) if match else 0
    whole, frac = (match.group(1), match.group(2)) if match else ("", None)
    if not mult or (frac is not None and mult == 1):
        raise ValueError(
            f"malformed size {text!r}: digits, an optional fraction and "
            "a unit (K, KiB, KB, M, ... E), e.g. '4M' or '1.5G'"
        )
    # Digits past the 18th cannot change a 64-bit result.
    frac = (frac or "")[:18]
    size = int(whole) * mult + (int(frac) * mult // 10 ** len(frac) if frac else 0)
    if size >= _LIMIT:
        raise ValueError(f"size {text!r} does not fit in 64 bits")
    return size
