/* SPDX-License-Identifier: MIT */
/*
 * `uttm run --metrics FILE`: the context's counters written to a file in
 * the OpenMetrics text format, replaced atomically (written beside it,
 * then renamed), as node_exporter's textfile collector expects; once at
 * the end, and every @interval seconds while the run lasts if asked.
 */
#ifndef UTTM_RUN_METRICS_H
#define UTTM_RUN_METRICS_H

struct uttm_context;
struct metrics_writer;

/* Writes @ctx's metrics to @path now.  Returns 0 or a negative errno. */
int metrics_write(struct uttm_context *ctx, const char *path);

/*
 * Starts a thread writing @ctx's metrics to @path every @interval
 * seconds.  Returns 0 and the writer in *@out, or a negative errno.
 */
int metrics_writer_start(struct uttm_context *ctx, const char *path,
			 double interval, struct metrics_writer **out);

/* Stops the thread, or does nothing for NULL; returns its last error. */
int metrics_writer_stop(struct metrics_writer *writer);

#endif /* UTTM_RUN_METRICS_H */
