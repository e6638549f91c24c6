// SPDX-License-Identifier: MIT
/*
 * The machine's swap during `uttm bench e2e`.  A swap file is on for the
 * whole run, as on a machine with swap; a side that compares with zram
 * gets a zram device of its own above it (lz4, priority 100, as zram
 * generators set it up), one that compares with zswap gets zswap in front
 * of it, and each goes again when its side ends, so that no other side
 * swaps through them.  Whatever the run reached is undone on every way
 * out; interrupted, the driver kills the side's child first and comes
 * here after.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"
#include "support/swapfile.h"

#define ZRAM_PRIORITY 100

static const char *const kind_names[NR_E2E_SWAP_KINDS] = {
	[E2E_SWAP_FILE] = "swap file",
	[E2E_SWAP_ZRAM] = "zram",
	[E2E_SWAP_ZSWAP] = "zswap",
};

/* Sets @kind up once and undoes it: whether it can be had here. */
static int try_kind(struct e2e_swap *s, enum e2e_swap_kind kind)
{
	int ret = e2e_swap_enter(s, kind);

	if (!ret)
		e2e_swap_leave(s);
	return ret;
}

static void found(struct e2e_swap *s, enum e2e_swap_kind kind, int ret)
{
	s->available[kind] = !ret;
	if (ret)
		fprintf(stderr, "uttm bench e2e: no %s here (%s): its sides "
			"are left out\n", kind_names[kind], strerror(-ret));
}

int e2e_swap_prepare(struct e2e_swap *s, const char *dir, uint64_t bytes)
{
	int ret;

	snprintf(s->path, sizeof(s->path), "%s/uttm-e2e-swap-%d", dir,
		 getpid());
	s->bytes = bytes;
	s->active = E2E_SWAP_FILE;
	ret = swapfile_create(s->path, bytes);
	if (ret)
		return ret;
	s->file_on = true;
	s->available[E2E_SWAP_FILE] = true;
	found(s, E2E_SWAP_ZRAM, try_kind(s, E2E_SWAP_ZRAM));
	/* zswap's compressors come from the crypto API, which may lack lz4. */
	snprintf(s->zswap_compressor, sizeof(s->zswap_compressor), "%s",
		 E2E_COMPRESSOR);
	ret = try_kind(s, E2E_SWAP_ZSWAP);
	if (ret == -EINVAL) {
		s->zswap_compressor[0] = '\0';
		ret = try_kind(s, E2E_SWAP_ZSWAP);
	}
	found(s, E2E_SWAP_ZSWAP, ret);
	return 0;
}

/* With the compressor chosen or, none chosen, the one zswap has. */
static int enter_zswap(struct e2e_swap *s)
{
	const char *compressor = s->zswap_compressor[0] ? s->zswap_compressor :
							   NULL;
	int ret = zswap_enable(&s->zswap, compressor);

	if (!ret && !compressor)
		snprintf(s->zswap_compressor, sizeof(s->zswap_compressor),
			 "%s", s->zswap.compressor);
	return ret;
}

int e2e_swap_enter(struct e2e_swap *s, enum e2e_swap_kind kind)
{
	int ret = 0;

	if (kind == E2E_SWAP_ZRAM)
		ret = zram_create(&s->zram, E2E_COMPRESSOR, s->bytes,
				  ZRAM_PRIORITY);
	else if (kind == E2E_SWAP_ZSWAP)
		ret = enter_zswap(s);
	if (!ret)
		s->active = kind;
	return ret;
}

uint64_t e2e_swap_outside_bytes(const struct e2e_swap *s)
{
	if (s->active == E2E_SWAP_ZRAM)
		return zram_pool_bytes(&s->zram);
	if (s->active == E2E_SWAP_ZSWAP)
		return zswap_pool_bytes();
	return 0;
}

void e2e_swap_leave(struct e2e_swap *s)
{
	int ret = 0;

	if (s->active == E2E_SWAP_ZRAM)
		ret = zram_remove(&s->zram);
	else if (s->active == E2E_SWAP_ZSWAP)
		ret = zswap_restore(&s->zswap);
	if (ret)
		fprintf(stderr, "uttm bench e2e: could not put %s back: %s\n",
			kind_names[s->active], strerror(-ret));
	s->active = E2E_SWAP_FILE;
}

void e2e_swap_restore(struct e2e_swap *s)
{
	e2e_swap_leave(s);
	if (s->file_on && swapfile_remove(s->path))
		fprintf(stderr, "uttm bench e2e: could not remove %s\n",
			s->path);
	s->file_on = false;
}
