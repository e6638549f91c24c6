// SPDX-License-Identifier: MIT
/*
 * The progress display; see progress.h.  The line is built from the
 * parts that fit: the phase, the percentage and the touches always, then
 * resident memory against the budget, then a bar in the width left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "run/progress.h"
#include "support/size.h"

/* Narrowest bar worth drawing and widest drawn, brackets included. */
#define MIN_BAR 12
#define MAX_BAR 40
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static unsigned int terminal_width(void)
{
	struct winsize ws;
	const char *columns = getenv("COLUMNS");

	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	if (columns && atoi(columns) > 0)
		return (unsigned int)atoi(columns);
	return 80;
}

static void draw_bar(char *out, size_t width, double done)
{
	size_t inner = width - 2, full = (size_t)(done * (double)inner);

	out[0] = '[';
	memset(out + 1, '=', full);
	memset(out + 1 + full, ' ', inner - full);
	if (full < inner)
		out[1 + full] = '>';
	out[width - 1] = ']';
	out[width] = '\0';
}

static void show_line(const struct progress *pr, bool last)
{
	char head[64], memory[64], used[16], budget[16], bar[MAX_BAR + 2] = "";
	/* The last column is left free so the cursor never wraps. */
	size_t width = terminal_width() - 1, len;

	snprintf(head, sizeof(head), "%-11s %3.0f%%", pr->phase,
		 pr->done * 100);
	snprintf(memory, sizeof(memory), "  %lu touches  resident %s of %s",
		 pr->touches, format_size(used, sizeof(used), pr->resident),
		 format_size(budget, sizeof(budget), pr->budget));
	len = strlen(head);
	if (len + strlen(memory) <= width)
		len += strlen(memory);
	else
		memory[0] = '\0';
	if (len + 1 + MIN_BAR <= width) {
		bar[0] = ' ';
		draw_bar(bar + 1, MIN(width - len - 1, MAX_BAR), pr->done);
	}
	/* \033[K clears what a longer line left behind. */
	fprintf(stderr, "\r%s%s%s\033[K%s", head, bar, memory,
		last ? "\n" : "");
	fflush(stderr);
}

void progress_show(const struct progress *pr, bool last)
{
	char used[16];

	if (pr->tty) {
		show_line(pr, last);
		return;
	}
	fprintf(stderr, "uttm run: %s %3.0f%%, %lu touches, resident %s\n",
		pr->phase, pr->done * 100, pr->touches,
		format_size(used, sizeof(used), pr->resident));
}
