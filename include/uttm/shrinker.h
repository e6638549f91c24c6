/* SPDX-License-Identifier: MIT */
/*
 * uttm/shrinker.h - the shrinker layer: taking memory back on request
 *
 * A shrinker answers two questions, as the kernel's does: how much could
 * be freed (count) and "free this much" (scan).  uttm's shrinker frees
 * what costs least first: purgeable objects, whose content nobody needs,
 * then other objects in several passes, each allowed more than the last:
 * first idle objects without waiting and without writeback, then waiting
 * for busy objects, then asking the stores to write pages out at once.
 *
 * The page-limit watermarks of uttm_bo_validate() and the memory-pressure
 * monitor call it, and so can the application at any time.
 *
 * The monitor is a thread that listens to the kernel's own memory-pressure
 * signals and reclaims ahead of need: pooled pages first (they hold no
 * data), then purgeable objects, then backups (uttm_context_reclaim()),
 * and holds the context at what it reclaimed down to with a pressure
 * limit (uttm_context_set_pressure_limit()), lifted step by step once
 * memory is plentiful again.  Whatever its source, it also polls the
 * headroom left, the smaller of MemAvailable and what the memory
 * cgroups' limits leave (the swap cache counting as left: the kernel
 * drops those copies of pages already in swap first, without I/O), and
 * reclaims what that headroom would lack below a low mark a few polls
 * from now were others to keep taking it as fast as they have been: a
 * pressure event can come too late, and without swap the OOM killer does
 * not wait.  The rate leaves out the context's own growth up to its
 * budget, which the headroom was left for.  Where the polled cgroup is
 * a cgroup v1 memory controller with a limit, the monitor also has the
 * kernel signal it at charge time as the usage crosses the marks where
 * the headroom falls to twice the low mark, to the low mark and to half
 * of it (memory.usage_in_bytes thresholds), whatever the source: another
 * process can take memory faster than a poll sees it.  The sources, in
 * the order UTTM_PRESSURE_AUTO tries them:
 *
 * - a cgroup directory given in the parameters: its PSI trigger (v2), or
 *   its memory.pressure_level events (v1);
 * - the process's own cgroup v2, when it is not the root: a PSI trigger
 *   on its memory.pressure, woken when tasks stalled on memory for longer
 *   than a threshold within a window; the polled headroom is that of
 *   memory.max and memory.high, of the cgroup and its parents;
 * - the process's own cgroup v1 memory controller, when it has a limit:
 *   its memory.pressure_level eventfd ("low" when the cgroup starts
 *   reclaiming, "medium" when it swaps or thrashes, "critical" when it is
 *   about to run out), guarded by polling memory.limit_in_bytes against
 *   memory.usage_in_bytes, since without swap the events come late;
 * - the whole system's PSI, /proc/pressure/memory, with MemAvailable;
 * - polling alone.
 */
#ifndef UTTM_SHRINKER_H
#define UTTM_SHRINKER_H

#include <uttm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/**
 * uttm_shrinker_count() - pages the shrinker could free now
 * @ctx: the context.
 *
 * Pages of purgeable objects, plus pages of other shrinkable objects as
 * far as their devices' stores have room for them (all of them for a
 * device without a default store, whose driver chooses stores itself).
 * Pinned objects and objects not populated do not count.
 *
 * Context: May sleep (stores may read system files). Takes the
 * device-list and LRU locks.
 * Return: the number of pages.
 */
unsigned long uttm_shrinker_count(struct uttm_context *ctx);

/**
 * uttm_shrinker_scan() - free pages by shrinking objects
 * @ctx: the context.
 * @nr_to_scan: pages wanted.
 *
 * Purges purgeable objects first, then backs objects up in passes (no
 * waiting and no writeback, then waiting for busy objects, then
 * writeback), stopping as soon as @nr_to_scan pages are freed.  Each
 * object is freed whole, so the result may exceed @nr_to_scan.
 *
 * Context: May sleep. Takes the device-list and LRU locks and trylocks
 * objects; must not be called with an object locked by the caller that
 * it would need (it skips such objects) or with an LRU lock held.
 * Return: the number of pages freed.
 */
unsigned long uttm_shrinker_scan(struct uttm_context *ctx,
				 unsigned long nr_to_scan);

/**
 * uttm_shrinker_trim_pools() - give pooled pages of all devices back
 * @ctx: the context.
 * @nr_to_scan: pages wanted.
 *
 * Context: May sleep. Takes the device-list lock and pool locks.
 * Return: the number of pages freed.
 */
unsigned long uttm_shrinker_trim_pools(struct uttm_context *ctx,
				       unsigned long nr_to_scan);

/**
 * enum uttm_pressure_source - where the monitor hears about pressure
 * @UTTM_PRESSURE_AUTO: the most local source this machine offers.
 * @UTTM_PRESSURE_PSI_CGROUP: PSI trigger on the process's cgroup v2.
 * @UTTM_PRESSURE_PSI_SYSTEM: PSI trigger on /proc/pressure/memory.
 * @UTTM_PRESSURE_CGROUP_V1: memory.pressure_level of a cgroup v1.
 * @UTTM_PRESSURE_POLL: MemAvailable and cgroup usage, polled.
 */
enum uttm_pressure_source {
	UTTM_PRESSURE_AUTO,
	UTTM_PRESSURE_PSI_CGROUP,
	UTTM_PRESSURE_PSI_SYSTEM,
	UTTM_PRESSURE_CGROUP_V1,
	UTTM_PRESSURE_POLL,
};

/**
 * struct uttm_monitor_params - how the monitor listens and reacts
 * @source: where to listen; a source the machine lacks fails the start.
 * @psi_stall_us: PSI: stall time within a window that wakes the monitor
 * (default 200 ms).
 * @psi_window_us: PSI: the window (default 2 s; the kernel accepts 0.5
 * to 10 s, and only whole multiples of 2 s from unprivileged processes
 * and on some kernels from everyone).
 * @poll_ms: the interval at which the headroom is polled, whatever the
 * source (default 100 ms); a fifth of it while the headroom is below twice
 * its low mark.
 * @low_available_bytes: the headroom's low mark: MemAvailable and the
 * cgroups' headroom are kept above it (default 1/16 of the tightest
 * cgroup limit, or of RAM).
 * @min_scan_pages: smallest reclaim (default 256 pages).
 * @cgroup_dir: the cgroup directory to watch instead of the process's own
 * (its events for PSI_CGROUP and CGROUP_V1, its headroom for every
 * source), or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 *
 * On an event while the headroom is below twice its low mark the monitor
 * reclaims a share of what the context holds (uttm_context_stats()'s
 * resident_bytes) proportional to the pressure: a PSI event's avg10
 * stall share, the v1 level (low 1/8, medium 1/2, critical all; a
 * usage mark counts as low); with
 * more headroom an event is the kernel dropping caches.  At each poll it
 * reclaims what the headroom, shrinking at its recent rate (measured
 * over a poll interval at least), would lack below the low mark three
 * polls ahead.
 */
struct uttm_monitor_params {
	enum uttm_pressure_source source;
	unsigned int psi_stall_us;
	unsigned int psi_window_us;
	unsigned int poll_ms;
	uint64_t low_available_bytes;
	unsigned long min_scan_pages;
	const char *cgroup_dir;
	uint64_t reserved[4];
};

/**
 * struct uttm_monitor_stats - what a monitor did
 * @events: reclaims, for pressure events or a shrinking headroom.
 * @pages_freed: pages' worth of memory the budget counts they freed.
 * @last_pressure: pressure of the last event, 0 to 1.
 * @reserved: zero: room for counters to come.
 */
struct uttm_monitor_stats {
	unsigned long events;
	unsigned long pages_freed;
	double last_pressure;
	uint64_t reserved[8];
};

struct uttm_monitor;

/**
 * uttm_monitor_start() - start listening to memory pressure
 * @ctx: the context to reclaim from; it must outlive the monitor.
 * @params: source and thresholds, or NULL for the defaults.
 * @out: receives the monitor.
 *
 * Context: May sleep. Starts a thread.
 * Return: 0; -EINVAL for a NULL @ctx or @out or bad parameters; -ENOENT
 * when the requested source does not exist here; -EPERM or -EACCES when
 * it may not be used; the errors of pthread_create().
 */
int uttm_monitor_start(struct uttm_context *ctx,
		       const struct uttm_monitor_params *params,
		       struct uttm_monitor **out);

/**
 * uttm_monitor_stop() - stop listening and free the monitor
 * @monitor: the monitor, or NULL.
 *
 * Waits for a reclaim under way to end; never blocks otherwise.  Lifts
 * the pressure limit it may have set.  In a child that inherited
 * @monitor through fork(), where its thread does not run, it only frees
 * the child's copy and leaves the parent's monitor running.
 *
 * Context: May sleep. Must not be called from the monitor's callbacks.
 */
void uttm_monitor_stop(struct uttm_monitor *monitor);

/**
 * uttm_monitor_source() - where a monitor listens
 * @monitor: the monitor.
 *
 * Context: Any thread. Does not sleep.
 * Return: the source actually used (never UTTM_PRESSURE_AUTO).
 */
enum uttm_pressure_source uttm_monitor_source(const struct uttm_monitor *monitor);

/**
 * uttm_pressure_source_name() - name of a source
 * @source: the source.
 *
 * Context: Any thread. Does not sleep.
 * Return: "auto", "psi-cgroup", "psi-system", "cgroup-v1", "poll" or "?".
 */
const char *uttm_pressure_source_name(enum uttm_pressure_source source);

/**
 * uttm_monitor_stats() - read what a monitor did
 * @monitor: the monitor.
 * @stats: receives the figures.
 *
 * Context: Any thread, lock-free.
 */
void uttm_monitor_stats(const struct uttm_monitor *monitor,
			struct uttm_monitor_stats *stats);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_SHRINKER_H */
