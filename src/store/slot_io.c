// SPDX-License-Identifier: MIT
/*
 * Batches of pages between memory and store slots; see "Slot I/O" in
 * internal.h.
 */
#include <errno.h>
#include <fcntl.h>

#include "uttm/store.h"
#include "base/base.h"
#include "internal.h"

/*
 * Pages per request: large enough for the disk to stream, small enough
 * that one store call of the tt layer (256 to 1024 pages) is several
 * requests in flight through a ring.  The synchronous path merges the
 * requests of a run again.
 */
#define REQ_PAGES 64u

unsigned long uttm_slot_io_handle_run(const unsigned long *handles,
				      unsigned long count)
{
	unsigned long n = 1;

	while (n < count && handles[n] == handles[0] + n)
		n++;
	return n;
}

/* Appends the requests for @count pages at @pages, slots from @slot on. */
static void add_reqs(struct slot_batch *batch, void *const *pages,
		     unsigned long count, unsigned long slot)
{
	for (unsigned long i = 0; i < count; i += REQ_PAGES)
		batch->reqs[batch->nr++] = (struct file_req){
			.pages = pages + i,
			.count = MIN(count - i, (unsigned long)REQ_PAGES),
			.slot = slot + i,
		};
}

long uttm_slot_io_batch_take(struct slot_batch *batch, struct slots *slots,
			     void *const *src, unsigned long count)
{
	unsigned long planned = 0, got;
	long first = 0;

	batch->nr = 0;
	count = MIN(count, (unsigned long)FILE_IO_BATCH_PAGES);
	while (planned < count) {
		first = uttm_slots_alloc(slots, count - planned, &got);
		if (first < 0)
			break;
		add_reqs(batch, src + planned, got, (unsigned long)first);
		planned += got;
	}
	return planned ? (long)planned : first;
}

void uttm_slot_io_batch_commit(const struct slot_batch *batch,
			       struct slots *slots, long written,
			       unsigned long *handles)
{
	unsigned long done = written > 0 ? (unsigned long)written : 0, k = 0;

	for (unsigned int i = 0; i < batch->nr; i++) {
		const struct file_req *req = &batch->reqs[i];
		unsigned long keep = MIN(req->count, done - k);

		for (unsigned long j = 0; j < keep; j++)
			handles[k++] = uttm_backup_index_to_handle(req->slot + j);
		if (keep < req->count)
			uttm_slots_free(slots, req->slot + keep,
					req->count - keep);
	}
}

long uttm_slot_io_read(struct file_io *io, void *const *dst,
		       const unsigned long *handles, unsigned long count,
		       bool intr)
{
	struct slot_batch batch = { .nr = 0 };

	count = MIN(count, (unsigned long)FILE_IO_BATCH_PAGES);
	for (unsigned long i = 0, run; i < count; i += run) {
		run = uttm_slot_io_handle_run(handles + i, count - i);
		add_reqs(&batch, dst + i, run,
			 uttm_backup_handle_to_index(handles[i]));
	}
	return uttm_file_io_run(io, batch.reqs, batch.nr, false, intr);
}

void uttm_slot_io_free(struct slots *slots, const unsigned long *handles,
		       unsigned long count)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		run = uttm_slot_io_handle_run(handles + i, count - i);
		uttm_slots_free(slots, uttm_backup_handle_to_index(handles[i]),
				run);
	}
}

int uttm_slot_io_release(int fd, struct slots *slots, unsigned long first,
			 unsigned long count)
{
	int ret = 0;

	/*
	 * A file system that cannot punch holes only keeps the blocks
	 * until the slots are written again; nothing is lost.
	 */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      uttm_file_io_slot_offset(first),
		      uttm_file_io_slot_offset(count)) &&
	    !UTTM_WARN_ON(errno != EOPNOTSUPP))
		ret = -EOPNOTSUPP;
	uttm_slots_free(slots, first, count);
	return ret;
}

void uttm_slot_io_punch(int fd, struct slots *slots,
			const unsigned long *handles, unsigned long count)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		run = uttm_slot_io_handle_run(handles + i, count - i);
		uttm_slot_io_release(fd, slots,
				     uttm_backup_handle_to_index(handles[i]),
				     run);
	}
}
