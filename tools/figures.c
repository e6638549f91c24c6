// SPDX-License-Identifier: MIT
/*
 * Figure sets: every benchmark and report builds one and prints it either
 * as a readable table or as a single JSON object with stable field names,
 * so both outputs always carry the same numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/size.h"
#include "uttm.h"

void figures_init(struct figures *set, const char *title)
{
	memset(set, 0, sizeof(*set));
	set->title = title;
}

void figures_fini(struct figures *set)
{
	free(set->items);
	memset(set, 0, sizeof(*set));
}

static struct figure *figures_append(struct figures *set)
{
	if (set->count == set->capacity) {
		unsigned int cap = set->capacity ? 2 * set->capacity : 32;
		struct figure *items = realloc(set->items, cap * sizeof(*items));

		if (!items) {
			perror("uttm: figures");
			exit(1);
		}
		set->items = items;
		set->capacity = cap;
	}
	return &set->items[set->count++];
}

void figures_add(struct figures *set, const char *key, const char *label,
		 const char *unit, double value)
{
	*figures_append(set) = (struct figure){ key, label, unit, value, false,
						NULL };
}

void figures_add_int(struct figures *set, const char *key, const char *label,
		     const char *unit, uint64_t value)
{
	*figures_append(set) = (struct figure){ key, label, unit,
						(double)value, true, NULL };
}

/* @text must live as long as @set. */
void figures_add_text(struct figures *set, const char *key, const char *label,
		      const char *text)
{
	*figures_append(set) = (struct figure){ key, label, "", 0, false,
						text };
}

/* A section is a figure without a key: a heading in the table only. */
void figures_section(struct figures *set, const char *label)
{
	*figures_append(set) = (struct figure){ NULL, label, "", 0, false,
						NULL };
}

/* A JSON string: the few characters JSON escapes, the others as they are. */
static void print_json_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static void print_json_value(FILE *out, const struct figure *f)
{
	if (f->text)
		print_json_string(out, f->text);
	else if (!isfinite(f->value))
		fputs("null", out);
	else if (f->integer)
		fprintf(out, "%.0f", f->value);
	else
		fprintf(out, "%.6g", f->value);
}

static void print_json(const struct figures *set, FILE *out)
{
	const char *sep = "";

	fputc('{', out);
	for (unsigned int i = 0; i < set->count; i++) {
		const struct figure *f = &set->items[i];

		if (!f->key)
			continue;
		fprintf(out, "%s\"%s\": ", sep, f->key);
		print_json_value(out, f);
		sep = ", ";
	}
	fputs("}\n", out);
}

/* @value rounded to a whole number, its digits in groups of three. */
static void format_grouped(char *buf, size_t size, double value)
{
	char plain[32];
	size_t n, out = 0;
	const char *p = plain;

	snprintf(plain, sizeof(plain), "%.0f", value);
	if (*p == '-' && out + 1 < size)
		buf[out++] = *p++;
	n = strlen(p);
	for (size_t i = 0; i < n && out + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[out++] = ',';
		buf[out++] = p[i];
	}
	buf[out] = '\0';
}

/*
 * The table shows a figure in the unit a reader wants: bytes in binary
 * units, microseconds as milliseconds once there are a thousand of them.
 * JSON keeps the raw numbers.
 */
static void format_value(char *buf, size_t size, const struct figure *f)
{
	char digits[32];

	if (f->text) {
		snprintf(buf, size, "%s", f->text);
	} else if (!isfinite(f->value)) {
		snprintf(buf, size, "-");
	} else if (!strcmp(f->unit, "B") && f->value >= 0) {
		format_size(buf, size, (uint64_t)f->value);
	} else if (!strcmp(f->unit, "us") && f->value >= 1000) {
		snprintf(buf, size, "%.2f ms", f->value / 1000);
	} else if (f->integer || fabs(f->value) >= 1000) {
		format_grouped(digits, sizeof(digits), f->value);
		snprintf(buf, size, "%s%s%s", digits, *f->unit ? " " : "",
			 f->unit);
	} else {
		snprintf(buf, size, "%.3f%s%s", f->value, *f->unit ? " " : "",
			 f->unit);
	}
}

static void print_table(const struct figures *set, FILE *out)
{
	char value[64];

	fprintf(out, "%s\n", set->title);
	for (unsigned int i = 0; i < set->count; i++) {
		const struct figure *f = &set->items[i];

		if (!f->key) {
			fprintf(out, "\n  %s\n", f->label);
			continue;
		}
		format_value(value, sizeof(value), f);
		fprintf(out, "    %-52s %22s\n", f->label, value);
	}
}

void figures_print(const struct figures *set, FILE *out, bool json)
{
	if (json)
		print_json(set, out);
	else
		print_table(set, out);
}
