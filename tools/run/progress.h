/* SPDX-License-Identifier: MIT */
/*
 * The progress display of `uttm run`: on a terminal one line per phase,
 * redrawn in place to fit the terminal's width; elsewhere a plain line
 * now and then, for logs.
 */
#ifndef UTTM_PROGRESS_H
#define UTTM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

/**
 * struct progress - what the display shows
 * @phase: name of the phase under way.
 * @done: how far it is, from 0 to 1.
 * @touches: object touches so far.
 * @resident: resident memory of the process, bytes.
 * @budget: the memory budget, bytes.
 * @tty: stderr is a terminal.
 */
struct progress {
	const char *phase;
	double done;
	unsigned long touches;
	uint64_t resident;
	uint64_t budget;
	bool tty;
};

/* Shows @pr on stderr; @last ends the phase's line. */
void progress_show(const struct progress *pr, bool last);

#endif /* UTTM_PROGRESS_H */
