/* SPDX-License-Identifier: MIT */
/*
 * Sizes in human units, for the tool's options.
 */
#ifndef UTTM_SUPPORT_SIZE_H
#define UTTM_SUPPORT_SIZE_H

#include <stdint.h>

/*
 * Reads @text, digits with an optional K, M, G or T suffix (powers of
 * 1024) optionally followed by "B" or "iB" ("8G", "512M", "4096"), into
 * *@bytes.  Returns 0, or -EINVAL for anything else or an overflow.
 */
int parse_size(const char *text, uint64_t *bytes);

#endif /* UTTM_SUPPORT_SIZE_H */
