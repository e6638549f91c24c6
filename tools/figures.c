// SPDX-License-Identifier: MIT
/*
 * Figure sets: every benchmark and report builds one and prints it either
 * as a readable table or as a single JSON object with stable field names,
 * so both outputs always carry the same numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
	*figures_append(set) = (struct figure){ key, label, unit, value, false };
}

void figures_add_int(struct figures *set, const char *key, const char *label,
		     const char *unit, uint64_t value)
{
	*figures_append(set) = (struct figure){ key, label, unit,
						(double)value, true };
}

/* A section is a figure without a key: a heading in the table only. */
void figures_section(struct figures *set, const char *label)
{
	*figures_append(set) = (struct figure){ NULL, label, "", 0, false };
}

static void print_json_number(FILE *out, const struct figure *f)
{
	if (!isfinite(f->value))
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
		print_json_number(out, f);
		sep = ", ";
	}
	fputs("}\n", out);
}

static void print_table(const struct figures *set, FILE *out)
{
	fprintf(out, "%s\n", set->title);
	for (unsigned int i = 0; i < set->count; i++) {
		const struct figure *f = &set->items[i];

		if (!f->key) {
			fprintf(out, "\n  %s\n", f->label);
			continue;
		}
		if (f->integer)
			fprintf(out, "    %-52s %14.0f %s\n", f->label, f->value,
				f->unit);
		else
			fprintf(out, "    %-52s %14.3f %s\n", f->label, f->value,
				f->unit);
	}
}

void figures_print(const struct figures *set, FILE *out, bool json)
{
	if (json)
		print_json(set, out);
	else
		print_table(set, out);
}
