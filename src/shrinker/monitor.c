// SPDX-License-Identifier: MIT
/*
 * The memory-pressure monitor: a thread that waits for the kernel to say
 * memory is short (a PSI trigger, a cgroup v1 pressure-level event) and,
 * whatever its source, polls the headroom left (the memory cgroup's, the
 * system's), reclaiming ahead of need: in proportion to the pressure, and
 * to how fast the headroom shrinks.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "uttm/shrinker.h"
#include "base/base.h"

#define DEFAULT_STALL_US 200000
#define DEFAULT_WINDOW_US 2000000
#define DEFAULT_POLL_MS 100
#define DEFAULT_MIN_SCAN 256
/* PSI: a 20% stall share over ten seconds is as bad as it gets. */
#define PSI_FULL_AVG10 20.0
#define MIN_PRESSURE (1.0 / 16)
/*
 * Below twice the low mark the headroom is tight: it is polled this much
 * more often, and only then do events count.  Above it an event is the
 * kernel dropping caches (the swap cache MADV_PAGEOUT leaves, clean page
 * cache), no reason for uttm to give anything up.
 */
#define TIGHT_POLL_DIVISOR 5
/* How far ahead the shrinking headroom is extrapolated, in polls. */
#define LEAD_POLLS 3
/* Headroom above this many low marks is plenty: the pressure limit goes. */
#define ROOMY_LOWS 3
/*
 * The monitor's stack, faulted in (and locked, where allowed) up front: a
 * thread that frees memory must not need a new page to do it.  TSan's
 * runtime refuses a stack given to a thread below about 900 KiB.
 */
#ifdef __SANITIZE_THREAD__
#define MONITOR_STACK (2 * 1024 * 1024)
#else
#define MONITOR_STACK (512 * 1024)
#endif

static const char *const v1_levels[] = { "low", "medium", "critical" };
static const double v1_pressure[] = { 1.0 / 8, 1.0 / 2, 1.0 };

struct uttm_monitor {
	struct uttm_context *ctx;
	struct uttm_monitor_params params;
	enum uttm_pressure_source source;
	int stop_fd;
	/* PSI: the trigger; cgroup v1: one eventfd per level. */
	int event_fds[ARRAY_SIZE(v1_levels)];
	unsigned int nr_event_fds;
	char psi_path[600];
	/* The memory cgroups whose headroom is polled, possibly none. */
	struct uttm_cgroup_levels levels;
	/*
	 * cgroup v1 with a limit: eventfds the kernel signals as the usage
	 * crosses the marks where the headroom gets tight (see arm_marks()).
	 */
	int mark_fds[3];
	unsigned int nr_mark_fds;
	/*
	 * Headroom at the last poll less what the context may still take
	 * under its budget, bytes, and when, seconds.
	 */
	double last_spare;
	double last_poll;
	/* How fast others take that spare, bytes per second, smoothed. */
	double shrink_rate;
	pthread_t thread;
	/* Of the process the thread runs in: uttm_fork_generation(). */
	unsigned long generation;
	void *stack;
	atomic_ulong events;
	atomic_ulong pages_freed;
	atomic_uint last_pressure_ppm;
};

const char *uttm_pressure_source_name(enum uttm_pressure_source source)
{
	static const char *const names[] = {
		[UTTM_PRESSURE_AUTO] = "auto",
		[UTTM_PRESSURE_PSI_CGROUP] = "psi-cgroup",
		[UTTM_PRESSURE_PSI_SYSTEM] = "psi-system",
		[UTTM_PRESSURE_CGROUP_V1] = "cgroup-v1",
		[UTTM_PRESSURE_POLL] = "poll",
	};

	return (unsigned int)source < ARRAY_SIZE(names) ? names[source] : "?";
}

static int add_event_fd(struct uttm_monitor *m, int fd)
{
	if (fd < 0)
		return -errno;
	m->event_fds[m->nr_event_fds++] = fd;
	return 0;
}

/* Arms a PSI trigger on @path: woken when stalls pass the threshold. */
static int setup_psi(struct uttm_monitor *m, const char *path)
{
	char trigger[64];
	int fd, len;

	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(trigger, sizeof(trigger), "some %u %u",
		       m->params.psi_stall_us, m->params.psi_window_us);
	/* The kernel wants the terminating NUL too. */
	if (write(fd, trigger, (size_t)len + 1) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	snprintf(m->psi_path, sizeof(m->psi_path), "%s", path);
	return add_event_fd(m, fd);
}

/* Registers one eventfd per pressure level with a cgroup v1 directory. */
static int setup_cgroup_v1(struct uttm_monitor *m, const char *dir)
{
	char path[600], line[64];
	int level_fd, ctl_fd, ret = 0;

	snprintf(path, sizeof(path), "%s/memory.pressure_level", dir);
	level_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (level_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
	ctl_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (ctl_fd < 0)
		ret = -errno;
	for (size_t i = 0; i < ARRAY_SIZE(v1_levels) && !ret; i++) {
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int len;

		ret = add_event_fd(m, efd);
		if (ret)
			break;
		len = snprintf(line, sizeof(line), "%d %d %s", efd, level_fd,
			       v1_levels[i]);
		if (write(ctl_fd, line, (size_t)len) < 0)
			ret = -errno;
	}
	if (ctl_fd >= 0)
		close(ctl_fd);
	close(level_fd);
	return ret;
}

/*
 * Finds the memory cgroups whose headroom to poll: the given directory,
 * or the levels of the process's own cgroup.  Having none is fine: the
 * system's MemAvailable is polled then.
 */
static void setup_headroom(struct uttm_monitor *m)
{
	const char *dir = m->params.cgroup_dir;
	char probe[UTTM_CGROUP_PATH + 32];

	if (!dir) {
		if (uttm_sysmem_cgroup_levels(&m->levels))
			m->levels.count = 0;
		return;
	}
	snprintf(m->levels.dirs[0], UTTM_CGROUP_PATH, "%s", dir);
	snprintf(probe, sizeof(probe), "%s/memory.current", dir);
	m->levels.v2 = !access(probe, R_OK);
	m->levels.count = 1;
}

static uint64_t total_ram(void)
{
	struct sysinfo si;

	return sysinfo(&si) ? 0 : (uint64_t)si.totalram * si.mem_unit;
}

/* Whether the cgroup v1 directory @dir has a limit below RAM. */
static bool v1_limited(const char *dir)
{
	char path[600];
	uint64_t limit;

	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
	return !uttm_sysmem_read_u64(path, &limit) && limit < total_ram();
}

static int setup_source(struct uttm_monitor *m, enum uttm_pressure_source s)
{
	const char *dir = m->params.cgroup_dir;
	char path[600], own[512];

	m->source = s;
	switch (s) {
	case UTTM_PRESSURE_PSI_CGROUP:
		if (dir)
			snprintf(path, sizeof(path), "%s/memory.pressure", dir);
		else if (uttm_sysmem_cgroup2_file("memory.pressure", path,
						  sizeof(path)))
			return -ENOENT;
		return setup_psi(m, path);
	case UTTM_PRESSURE_PSI_SYSTEM:
		return setup_psi(m, "/proc/pressure/memory");
	case UTTM_PRESSURE_CGROUP_V1:
		if (!dir && uttm_sysmem_cgroup1_dir("memory", own, sizeof(own)))
			return -ENOENT;
		return setup_cgroup_v1(m, dir ? dir : own);
	case UTTM_PRESSURE_POLL:
		return 0;
	default:
		return -EINVAL;
	}
}

static void close_event_fds(struct uttm_monitor *m)
{
	while (m->nr_event_fds)
		close(m->event_fds[--m->nr_event_fds]);
	while (m->nr_mark_fds)
		close(m->mark_fds[--m->nr_mark_fds]);
}

/*
 * The most local signal first, as listed in uttm/shrinker.h: a given
 * cgroup directory (v2 PSI, else its v1 events); the process's own
 * cgroup (v2 PSI when it is not the root, v1 events when its memory
 * cgroup has a limit); the whole system's PSI; polling alone.  Every
 * source is guarded by polling the headroom as well.
 */
static int setup_auto(struct uttm_monitor *m)
{
	char own[512];

	if (m->params.cgroup_dir) {
		if (!setup_source(m, UTTM_PRESSURE_PSI_CGROUP))
			return 0;
		close_event_fds(m);
		return setup_source(m, UTTM_PRESSURE_CGROUP_V1);
	}
	if (!uttm_sysmem_in_cgroup2_root() &&
	    !setup_source(m, UTTM_PRESSURE_PSI_CGROUP))
		return 0;
	close_event_fds(m);
	if (!uttm_sysmem_cgroup1_dir("memory", own, sizeof(own)) &&
	    v1_limited(own) && !setup_source(m, UTTM_PRESSURE_CGROUP_V1))
		return 0;
	close_event_fds(m);
	if (!setup_source(m, UTTM_PRESSURE_PSI_SYSTEM))
		return 0;
	close_event_fds(m);
	return setup_source(m, UTTM_PRESSURE_POLL);
}

/* PSI: the stall share of the last ten seconds, as a pressure. */
static double psi_pressure(const struct uttm_monitor *m)
{
	char buf[256], *avg10;
	double share = 0;

	if (!uttm_sysmem_read_text(m->psi_path, buf, sizeof(buf))) {
		avg10 = strstr(buf, "some avg10=");
		if (avg10)
			share = strtod(avg10 + strlen("some avg10="), NULL);
	}
	return MIN(1.0, MAX(MIN_PRESSURE, share / PSI_FULL_AVG10));
}

/* Whether the eventfd polled in @pfd fired; its count is read, cleared. */
static bool eventfd_fired(const struct pollfd *pfd)
{
	uint64_t count;

	return (pfd->revents & POLLIN) &&
	       read(pfd->fd, &count, sizeof(count)) > 0;
}

/* A usage mark that fired counts as cgroup v1's low level. */
static double mark_pressure(const struct uttm_monitor *m,
			    const struct pollfd *fds)
{
	double pressure = 0;

	for (unsigned int i = 0; i < m->nr_mark_fds; i++)
		if (eventfd_fired(&fds[i]))
			pressure = v1_pressure[0];
	return pressure;
}

/* cgroup v1: the highest level that fired. */
static double v1_level_pressure(const struct uttm_monitor *m,
				const struct pollfd *fds)
{
	double pressure = 0;

	for (unsigned int i = 0; i < m->nr_event_fds; i++)
		if (eventfd_fired(&fds[i]))
			pressure = MAX(pressure, v1_pressure[i]);
	return pressure;
}

/*
 * MemAvailable and the swap cache, which it leaves out though the kernel
 * drops it first: pages already in swap, their copy kept in memory.
 */
static uint64_t mem_available(void)
{
	char buf[2048];

	if (uttm_sysmem_read_text("/proc/meminfo", buf, sizeof(buf)) ||
	    !strstr(buf, "MemAvailable:"))
		return UINT64_MAX;
	return (uttm_sysmem_text_number(buf, "MemAvailable:") +
		uttm_sysmem_text_number(buf, "SwapCached:")) * 1024;
}

/*
 * The headroom: the smaller of MemAvailable and what the tightest limit
 * of the polled cgroups leaves; its low mark in @low, the given one or a
 * sixteenth of that limit (or of RAM).
 */
static uint64_t headroom(const struct uttm_monitor *m, uint64_t *low)
{
	uint64_t avail = mem_available(), limit = UINT64_MAX, room;

	uttm_sysmem_cgroup_room(&m->levels, &limit, &room);
	*low = m->params.low_available_bytes;
	if (limit != UINT64_MAX) {
		avail = MIN(avail, room);
		if (!*low)
			*low = limit / 16;
	}
	if (!*low)
		*low = total_ram() / 16;
	return avail;
}

/*
 * Another process in the cgroup may take its memory faster than a poll
 * sees it: at 100 MiB/s a 100 ms poll misses 10 MiB, more than the low
 * mark of a small cgroup, and without swap the kernel then kills rather
 * than waits.  cgroup v1 signals a usage threshold at charge time, so
 * the thread is woken as the headroom falls to twice the low mark, to
 * the low mark and to half of it, whatever the source.  Best effort:
 * without the marks the polls remain.
 */
static void arm_marks(struct uttm_monitor *m)
{
	char path[UTTM_CGROUP_PATH + 32], line[96];
	uint64_t limit, low;
	int usage_fd, ctl_fd;

	if (m->levels.v2 || !m->levels.count)
		return;
	/* The marks are of this cgroup's usage, so against its own limit. */
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes",
		 m->levels.dirs[0]);
	headroom(m, &low);
	if (uttm_sysmem_read_u64(path, &limit) || limit >= total_ram() ||
	    limit <= 2 * low)
		return;
	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes",
		 m->levels.dirs[0]);
	usage_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (usage_fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.event_control",
		 m->levels.dirs[0]);
	ctl_fd = open(path, O_WRONLY | O_CLOEXEC);
	for (unsigned int i = 0; ctl_fd >= 0 && i < ARRAY_SIZE(m->mark_fds);
	     i++) {
		/* 2 x low, low, low / 2 below the limit. */
		uint64_t mark = limit - 2 * low / (1u << i);
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int len;

		if (efd < 0)
			break;
		len = snprintf(line, sizeof(line), "%d %d %llu", efd, usage_fd,
			       (unsigned long long)mark);
		if (write(ctl_fd, line, (size_t)len) < 0) {
			close(efd);
			break;
		}
		m->mark_fds[m->nr_mark_fds++] = efd;
	}
	if (ctl_fd >= 0)
		close(ctl_fd);
	close(usage_fd);
}

static double now_seconds(void)
{
	return (double)uttm_now_ns() / 1e9;
}

/* Counts one reclaim of @bytes for @pressure. */
static void note_reclaim(struct uttm_monitor *m, uint64_t bytes,
			 double pressure)
{
	atomic_fetch_add(&m->events, 1);
	atomic_fetch_add(&m->pages_freed, bytes >> UTTM_PAGE_SHIFT);
	atomic_store(&m->last_pressure_ppm,
		     (unsigned int)(MIN(pressure, 1.0) * 1e6));
}

/*
 * Frees @bytes of what the budget counts, at least a minimal scan, and
 * holds the context there with the pressure limit, so that validates do
 * not take back at once what the kernel needs.  Pooled pages go first,
 * then purgeable objects, then backups (uttm_context_reclaim()).
 */
static void reclaim(struct uttm_monitor *m, uint64_t bytes, double pressure)
{
	uint64_t min = (uint64_t)m->params.min_scan_pages << UTTM_PAGE_SHIFT;
	struct uttm_context_stats stats;
	uint64_t freed;

	bytes = MAX(bytes, min);
	uttm_context_stats(m->ctx, &stats);
	uttm_context_set_pressure_limit(m->ctx, stats.resident_bytes > bytes ?
					stats.resident_bytes - bytes :
					UTTM_PAGE_SIZE);
	freed = uttm_context_reclaim(m->ctx, bytes);
	note_reclaim(m, freed, pressure);
}

/* An event's pressure, 0 to 1: that share of the context is reclaimed. */
static void reclaim_share(struct uttm_monitor *m, double pressure)
{
	struct uttm_context_stats stats;

	uttm_context_stats(m->ctx, &stats);
	reclaim(m, (uint64_t)(pressure * (double)stats.resident_bytes),
		pressure);
}

/*
 * Raises the pressure limit by half the @spare headroom, and lifts it
 * once it would no longer hold the context back.
 */
static void relax(struct uttm_monitor *m, uint64_t spare)
{
	struct uttm_context_stats stats;
	uint64_t raised;

	uttm_context_stats(m->ctx, &stats);
	if (!stats.pressure_limit)
		return;
	raised = stats.pressure_limit + spare / 2;
	if ((stats.budget && raised >= stats.budget) ||
	    raised >= stats.resident_bytes + spare)
		raised = 0;
	uttm_context_set_pressure_limit(m->ctx, raised);
}

/*
 * The headroom less what the context may still take under its budget: it
 * shrinks only when something else takes memory, never as the context
 * fills its own budget, which the headroom was left for.
 */
static double spare(struct uttm_monitor *m, uint64_t room)
{
	struct uttm_context_stats stats;

	uttm_context_stats(m->ctx, &stats);
	return (double)room - (stats.budget > stats.resident_bytes ?
			       (double)(stats.budget - stats.resident_bytes) :
			       0);
}

/*
 * Polls the headroom and reclaims ahead of need: a share of the context
 * for an event's @pressure when the headroom is tight, and what the
 * headroom, were others to keep taking it as fast as they have, would
 * lack below the low mark a few polls from now.  Plenty of headroom lifts
 * the pressure limit step by step.  Returns the time to the next poll,
 * in ms.
 */
static int guard(struct uttm_monitor *m, double pressure)
{
	double now = now_seconds(), dt = now - m->last_poll;
	uint64_t low, room = headroom(m, &low);
	double lead, ahead, drop, left = spare(m, room);
	int next = (int)m->params.poll_ms;

	/*
	 * Over a poll interval at least: events and tight polls wake the
	 * thread sooner, and a few pages over a millisecond is no rate.
	 */
	if (dt * 1000 >= m->params.poll_ms) {
		if (m->last_poll) {
			drop = (m->last_spare - left) / dt;
			m->shrink_rate = MAX(0.0, (m->shrink_rate + drop) / 2);
		}
		m->last_spare = left;
		m->last_poll = now;
	}
	if (room < 2 * low) {
		next = MAX(1, next / TIGHT_POLL_DIVISOR);
		if (pressure > 0)
			reclaim_share(m, pressure);
	}
	lead = LEAD_POLLS * next / 1000.0;
	ahead = (double)room - m->shrink_rate * lead;
	if (ahead < (double)low)
		reclaim(m, (uint64_t)((double)low - ahead),
			((double)low - ahead) / (double)low);
	else if (room > ROOMY_LOWS * low)
		relax(m, room - ROOMY_LOWS * low);
	return next;
}
/* An event's pressure, 0 for none, or -1 when its source went away. */
static double event_pressure(const struct uttm_monitor *m,
			     const struct pollfd *fds)
{
	if (m->source == UTTM_PRESSURE_CGROUP_V1)
		return v1_level_pressure(m, fds);
	if (fds[0].revents & POLLERR)
		return -1;
	return fds[0].revents & POLLPRI ? psi_pressure(m) : 0;
}

static void *monitor_main(void *arg)
{
	struct uttm_monitor *m = arg;
	struct pollfd fds[ARRAY_SIZE(v1_levels) + ARRAY_SIZE(m->mark_fds) + 1];
	short events = m->source == UTTM_PRESSURE_CGROUP_V1 ? POLLIN : POLLPRI;
	unsigned int n = m->nr_event_fds, marks = n + m->nr_mark_fds;
	int timeout = (int)m->params.poll_ms;

	for (unsigned int i = 0; i < n; i++)
		fds[i] = (struct pollfd){ m->event_fds[i], events, 0 };
	for (unsigned int i = n; i < marks; i++)
		fds[i] = (struct pollfd){ m->mark_fds[i - n], POLLIN, 0 };
	fds[marks] = (struct pollfd){ m->stop_fd, POLLIN, 0 };
	for (;;) {
		double pressure = 0;

		if (poll(fds, marks + 1, timeout) < 0 && errno != EINTR)
			break;
		if (fds[marks].revents)
			break;
		if (n)
			pressure = event_pressure(m, fds);
		if (pressure < 0)
			break;
		pressure = MAX(pressure, mark_pressure(m, fds + n));
		timeout = guard(m, pressure);
	}
	return NULL;
}

static int params_fill(struct uttm_monitor_params *p,
		       const struct uttm_monitor_params *given)
{
	if (given)
		*p = *given;
	else
		memset(p, 0, sizeof(*p));
	if ((unsigned int)p->source > UTTM_PRESSURE_POLL ||
	    !UTTM_RESERVED_CLEAR(p))
		return -EINVAL;
	if (!p->psi_stall_us)
		p->psi_stall_us = DEFAULT_STALL_US;
	if (!p->psi_window_us)
		p->psi_window_us = DEFAULT_WINDOW_US;
	if (!p->poll_ms)
		p->poll_ms = DEFAULT_POLL_MS;
	if (!p->min_scan_pages)
		p->min_scan_pages = DEFAULT_MIN_SCAN;
	return p->psi_stall_us > p->psi_window_us ? -EINVAL : 0;
}

/* Starts the thread on a stack that will not fault. */
static int start_thread(struct uttm_monitor *m)
{
	pthread_attr_t attr;
	int ret;

	m->stack = mmap(NULL, MONITOR_STACK, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m->stack == MAP_FAILED)
		return -ENOMEM;
	/* Locking needs RLIMIT_MEMLOCK room; faulting in is what matters. */
	mlock(m->stack, MONITOR_STACK);
	ret = -pthread_attr_init(&attr);
	if (!ret)
		ret = -pthread_attr_setstack(&attr, m->stack, MONITOR_STACK);
	if (!ret)
		ret = -pthread_create(&m->thread, &attr, monitor_main, m);
	pthread_attr_destroy(&attr);
	m->generation = uttm_fork_generation();
	if (ret)
		munmap(m->stack, MONITOR_STACK);
	return ret;
}

int uttm_monitor_start(struct uttm_context *ctx,
		       const struct uttm_monitor_params *params,
		       struct uttm_monitor **out)
{
	struct uttm_monitor *m;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = ctx;
	ret = params_fill(&m->params, params);
	if (ret)
		goto error_free;
	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (m->stop_fd < 0) {
		ret = -errno;
		goto error_free;
	}
	ret = m->params.source == UTTM_PRESSURE_AUTO ?
	      setup_auto(m) : setup_source(m, m->params.source);
	setup_headroom(m);
	if (!ret)
		arm_marks(m);
	if (!ret)
		ret = start_thread(m);
	if (ret)
		goto error_close;
	*out = m;
	return 0;

error_close:
	close_event_fds(m);
	close(m->stop_fd);
error_free:
	free(m);
	return ret;
}

void uttm_monitor_stop(struct uttm_monitor *monitor)
{
	uint64_t one = 1;

	if (!monitor)
		return;
	/*
	 * A child of fork() has the monitor but not its thread, and shares
	 * the stop eventfd with its parent: a write would stop the parent's.
	 */
	if (monitor->generation == uttm_fork_generation()) {
		UTTM_WARN_ON(write(monitor->stop_fd, &one, sizeof(one)) < 0);
		pthread_join(monitor->thread, NULL);
	}
	/* Nobody is there to lift it any more. */
	uttm_context_set_pressure_limit(monitor->ctx, 0);
	munmap(monitor->stack, MONITOR_STACK);
	close_event_fds(monitor);
	close(monitor->stop_fd);
	free(monitor);
}

enum uttm_pressure_source uttm_monitor_source(const struct uttm_monitor *monitor)
{
	return monitor->source;
}

void uttm_monitor_stats(const struct uttm_monitor *monitor,
			struct uttm_monitor_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->events = atomic_load(&monitor->events);
	stats->pages_freed = atomic_load(&monitor->pages_freed);
	stats->last_pressure = atomic_load(&monitor->last_pressure_ppm) / 1e6;
}
