/* SPDX-License-Identifier: MIT */
/*
 * Sizes in human units, read and written as util-linux's tools do
 * (truncate, fallocate): K, KiB and k are 1024, KB and kB 1000, and so on
 * up to E; a fraction is allowed with a unit ("1.5G").
 */
#ifndef UTTM_SUPPORT_SIZE_H
#define UTTM_SUPPORT_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads @text into *@bytes: digits, an optional fraction, and an optional
 * unit: K, M, G, T, P or E, in either case, alone or followed by "iB"
 * (powers of 1024), or followed by "B" (powers of 1000).  Returns 0;
 * -EINVAL for anything else (an empty string, a sign, spaces, an unknown
 * unit, a fraction without a unit); -ERANGE when it does not fit in 64
 * bits.
 */
int parse_size(const char *text, uint64_t *bytes);

/*
 * Writes @bytes to @buf in binary units with up to three significant
 * digits ("256 MiB", "1.50 GiB", "512 B").  Returns @buf.
 */
char *format_size(char *buf, size_t size, uint64_t bytes);

#endif /* UTTM_SUPPORT_SIZE_H */
