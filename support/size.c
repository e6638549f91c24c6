// SPDX-License-Identifier: MIT
/*
 * Sizes in human units, as util-linux reads them: the same strings mean
 * the same bytes to `uttm run --budget` as to `truncate --size`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "support/size.h"

static const char units[] = "KMGTPE";

/* @base to the @power; up to E (1000^6, 2^60) it fits in 64 bits. */
static uint64_t power_of(uint64_t base, unsigned int power)
{
	uint64_t n = 1;

	while (power--)
		n *= base;
	return n;
}

/* Reads the unit at @s: its multiplier, 1 for none; 0 when unknown. */
static uint64_t unit_multiplier(const char *s)
{
	const char *unit;
	unsigned int power;

	if (!*s)
		return 1;
	unit = strchr(units, toupper((unsigned char)s[0]));
	if (!unit || !*unit)
		return 0;
	power = (unsigned int)(unit - units) + 1;
	if (!s[1] || !strcmp(s + 1, "iB"))
		return power_of(1024, power);
	if (!strcmp(s + 1, "B"))
		return power_of(1000, power);
	return 0;
}

/* Reads decimal digits at *@s into *@n; false on overflow. */
static bool read_digits(const char **s, uint64_t *n, unsigned int *count)
{
	*n = 0;
	*count = 0;
	while (**s >= '0' && **s <= '9') {
		unsigned int digit = (unsigned int)(*(*s)++ - '0');

		if (*n > (UINT64_MAX - digit) / 10)
			return false;
		*n = *n * 10 + digit;
		(*count)++;
	}
	return true;
}

int parse_size(const char *text, uint64_t *bytes)
{
	uint64_t whole, frac = 0, mult, scale = 1;
	unsigned int digits, frac_digits = 0;
	const char *s = text;

	if (!text || !bytes)
		return -EINVAL;
	if (!read_digits(&s, &whole, &digits))
		return -ERANGE;
	if (!digits)
		return -EINVAL;
	if (*s == '.') {
		s++;
		/* Digits past the 18th cannot change a 64-bit result. */
		while (*s >= '0' && *s <= '9' && frac_digits < 18) {
			frac = frac * 10 + (uint64_t)(*s++ - '0');
			scale *= 10;
			frac_digits++;
		}
		while (*s >= '0' && *s <= '9')
			s++;
		if (!frac_digits)
			return -EINVAL;
	}
	mult = unit_multiplier(s);
	if (!mult || (frac_digits && mult == 1))
		return -EINVAL;
	if (whole > UINT64_MAX / mult)
		return -ERANGE;
	whole *= mult;
	/* frac / scale < 1, so this part is below @mult: no overflow. */
	frac = (uint64_t)((unsigned __int128)frac * mult / scale);
	if (whole > UINT64_MAX - frac)
		return -ERANGE;
	*bytes = whole + frac;
	return 0;
}

char *format_size(char *buf, size_t size, uint64_t bytes)
{
	static const char *const names[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	double v = (double)bytes;
	unsigned int i = 0;

	while (v >= 1024 && i + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1024;
		i++;
	}
	if (!i)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%.0f %s", v, names[i]);
	else
		snprintf(buf, size, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0,
			 v, names[i]);
	return buf;
}
