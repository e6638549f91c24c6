// SPDX-License-Identifier: MIT
/*
 * Sizes in human units, as the tool's options and the tests write them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "support/size.h"

int parse_size(const char *text, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	unsigned long long n;
	const char *unit;
	char *end;

	if (!text || !bytes || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		unit = strchr(units, *end);
		if (!unit || (end[1] && strcmp(end + 1, "B") &&
			      strcmp(end + 1, "iB")))
			return -EINVAL;
		for (long shift = 0; shift <= unit - units; shift++) {
			if (n > (~0ULL >> 10))
				return -EINVAL;
			n <<= 10;
		}
	}
	*bytes = n;
	return 0;
}
