/* SPDX-License-Identifier: MIT */
/*
 * Vectored I/O between pages and the slots of a store's file, shared by
 * the stores that keep pages in a file (shmem, file): slot i holds one
 * page at byte i * UTTM_PAGE_SIZE, so neighbouring slots move with one
 * call and a run of dropped handles is one hole.
 */
#ifndef UTTM_SLOT_IO_H
#define UTTM_SLOT_IO_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "uttm/page.h"
#include "slots.h"

static inline off_t slot_offset(unsigned long slot)
{
	return (off_t)slot << UTTM_PAGE_SHIFT;
}

/* Pages from @handles[0] on whose handles follow each other. */
unsigned long handle_run(const unsigned long *handles, unsigned long count);

/*
 * Describes @count pages at @bufs in @iov, one entry per run of pages
 * that are neighbours in memory.  Returns the number of entries.
 */
int slot_io_iov(struct iovec *iov, void *const *bufs, unsigned long count);

/*
 * Writes or reads @count pages at @bufs to or from @fd from @slot, in as
 * few calls as the kernel allows, going on after short transfers.
 * Returns the pages transferred, or a negative errno when none was;
 * -EINTR only if @intr.
 */
long slot_io_transfer(int fd, void *const *bufs, unsigned long count,
		      unsigned long slot, bool write, bool intr);

/* Punches @count slots from @first out of @fd and frees them. */
void slot_io_release(int fd, struct slots *slots, unsigned long first,
		     unsigned long count);

/*
 * Frees the slots of @count handles, run by run; with @punch each run is
 * first punched out of @fd, one hole per run of neighbours.
 */
void slot_io_drop(int fd, struct slots *slots, const unsigned long *handles,
		  unsigned long count, bool punch);

#endif /* UTTM_SLOT_IO_H */
