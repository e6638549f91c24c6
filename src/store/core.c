// SPDX-License-Identifier: MIT
/*
 * The store core: the calls every store goes through, which keep its
 * handle count and reference count and consult its fault injector.
 */
#include <errno.h>

#include "base/base.h"
#include "internal.h"

int uttm_backup_init(struct uttm_backup *backup,
		     const struct uttm_backup_ops *ops,
		     struct uttm_fault *fault)
{
	if (UTTM_WARN_ON(!ops->backup_pages && !ops->insert) ||
	    !UTTM_RESERVED_CLEAR(ops))
		return -EINVAL;
	backup->ops = ops;
	backup->fault = fault;
	backup->arena = NULL;
	backup->handles = 0;
	backup->refcount = 1;
	backup->copies = 0;
	backup->generation = uttm_fork_generation();
	return 0;
}

bool uttm_store_inherited(const struct uttm_backup *backup)
{
	return backup->generation != uttm_fork_generation();
}

struct uttm_backup *uttm_backup_get(struct uttm_backup *backup)
{
	__atomic_fetch_add(&backup->refcount, 1, __ATOMIC_RELAXED);
	return backup;
}

void uttm_backup_put(struct uttm_backup *backup)
{
	if (!backup ||
	    __atomic_fetch_sub(&backup->refcount, 1, __ATOMIC_ACQ_REL) != 1)
		return;
	/* A child leaves its copy of a parent's store to its own exit. */
	if (uttm_store_inherited(backup))
		return;
	UTTM_WARN_ON(__atomic_load_n(&backup->handles, __ATOMIC_RELAXED));
	backup->ops->fini(backup);
}

unsigned long uttm_store_fault_limit(struct uttm_fault *fault,
				     enum uttm_fault_point point,
				     unsigned long count, int *error)
{
	unsigned long i;

	*error = 0;
	for (i = 0; i < count && !*error; i++)
		*error = uttm_fault_check(fault, point);
	return *error ? i - 1 : count;
}

int uttm_store_backup_pages(struct uttm_backup *backup, void *const *src,
			    unsigned long count, bool writeback,
			    unsigned long *handles, unsigned long *done)
{
	unsigned long limit;
	int fault;
	long ret;

	*done = 0;
	if (UTTM_WARN_ON(uttm_store_inherited(backup)))
		return -EINVAL;
	limit = uttm_store_fault_limit(backup->fault, UTTM_FAULT_BACKUP, count,
				       &fault);
	while (*done < limit) {
		ret = backup->ops->backup_pages(backup, src + *done,
						limit - *done, writeback,
						handles + *done);
		if (ret < 0)
			return (int)ret;
		*done += (unsigned long)ret;
		__atomic_fetch_add(&backup->handles, ret, __ATOMIC_RELAXED);
	}
	return fault;
}

long uttm_backup_backup_pages(struct uttm_backup *backup, void *const *src,
			      unsigned long count, bool writeback,
			      unsigned long *handles)
{
	unsigned long done;
	int ret;

	if (UTTM_WARN_ON(!backup || (count && (!src || !handles))))
		return -EINVAL;
	if (!backup->ops->backup_pages)
		return -EOPNOTSUPP;
	ret = uttm_store_backup_pages(backup, src, count, writeback, handles,
				      &done);
	return done ? (long)done : ret;
}

long uttm_store_insert(struct uttm_backup *backup, struct uttm_page *block,
		       bool writeback)
{
	unsigned long nr = 1UL << uttm_page_order(block);
	long handle;
	int ret;

	if (UTTM_WARN_ON(uttm_store_inherited(backup)))
		return -EINVAL;
	if (nr > 1) {
		ret = uttm_fault_check(backup->fault, UTTM_FAULT_INSERT);
		if (ret)
			return ret;
	}
	handle = backup->ops->insert(backup, block, writeback);
	if (handle > 0)
		__atomic_fetch_add(&backup->handles, (long)nr,
				   __ATOMIC_RELAXED);
	return handle;
}

long uttm_backup_insert_block(struct uttm_backup *backup,
			      struct uttm_page *block, bool writeback)
{
	unsigned long nr;
	int ret;

	if (UTTM_WARN_ON(!backup || !block))
		return -EINVAL;
	if (!backup->ops->insert)
		return -EOPNOTSUPP;
	if (UTTM_WARN_ON(!uttm_page_in_arena(backup->arena, block)))
		return -EINVAL;
	nr = 1UL << uttm_page_order(block);
	if (uttm_store_fault_limit(backup->fault, UTTM_FAULT_BACKUP, nr,
				   &ret) < nr)
		return ret;
	return uttm_store_insert(backup, block, writeback);
}

int uttm_store_copy_pages(struct uttm_backup *backup, void *const *dst,
			  const unsigned long *handles, unsigned long count,
			  const struct uttm_operation_ctx *ctx,
			  unsigned long *done)
{
	unsigned long limit;
	int fault;
	long ret;

	*done = 0;
	if (UTTM_WARN_ON(uttm_store_inherited(backup)))
		return -EINVAL;
	limit = uttm_store_fault_limit(backup->fault, UTTM_FAULT_RESTORE, count,
				       &fault);
	while (*done < limit) {
		if (uttm_operation_cancelled(ctx))
			return -EINTR;
		ret = backup->ops->copy_pages(backup, dst + *done,
					      handles + *done, limit - *done,
					      ctx);
		if (ret < 0)
			return (int)ret;
		*done += (unsigned long)ret;
	}
	return fault;
}

long uttm_backup_copy_pages(struct uttm_backup *backup, void *const *dst,
			    const unsigned long *handles, unsigned long count,
			    const struct uttm_operation_ctx *ctx)
{
	unsigned long done;
	int ret;

	if (UTTM_WARN_ON(!backup || !ctx || (count && (!dst || !handles))) ||
	    !UTTM_RESERVED_CLEAR(ctx))
		return -EINVAL;
	ret = uttm_store_copy_pages(backup, dst, handles, count, ctx, &done);
	return done ? (long)done : ret;
}

void uttm_backup_drop(struct uttm_backup *backup, const unsigned long *handles,
		      unsigned long count)
{
	if (!count || UTTM_WARN_ON(!backup || !handles))
		return;
	if (!uttm_store_inherited(backup))
		backup->ops->drop(backup, handles, count);
	__atomic_fetch_sub(&backup->handles, (long)count, __ATOMIC_RELAXED);
}

/*
 * The leading run of the @count pages of @handles (none: any) that
 * @backup keeps as copies, or not, in *@keep; returns its length.
 */
static unsigned long keeps_copies_of(struct uttm_backup *backup,
				     const unsigned long *handles,
				     unsigned long count, bool *keep)
{
	if (uttm_store_inherited(backup)) {
		*keep = false;
		return count;
	}
	if (backup->ops->keeps_copies)
		return backup->ops->keeps_copies(backup, handles, count, keep);
	*keep = !backup->ops->resident_bytes;
	return count;
}

bool uttm_backup_keeps_copies(struct uttm_backup *backup)
{
	bool keep;

	keeps_copies_of(backup, NULL, 0, &keep);
	return keep;
}

unsigned long uttm_store_keep_copies(struct uttm_backup *backup,
				     const unsigned long *handles,
				     unsigned long count, bool *keep)
{
	unsigned long n = keeps_copies_of(backup, handles, count, keep);
	uint64_t avail_pages;
	long copies;

	if (!*keep)
		return n;
	copies = __atomic_load_n(&backup->copies, __ATOMIC_RELAXED);
	avail_pages = backup->ops->bytes_avail(backup) >> UTTM_PAGE_SHIFT;
	*keep = (uint64_t)copies + 2 * (uint64_t)n <= avail_pages;
	if (*keep)
		__atomic_fetch_add(&backup->copies, (long)n, __ATOMIC_RELAXED);
	return n;
}

void uttm_store_forget_copies(struct uttm_backup *backup, unsigned long count)
{
	__atomic_fetch_sub(&backup->copies, (long)count, __ATOMIC_RELAXED);
}

uint64_t uttm_backup_bytes_avail(struct uttm_backup *backup)
{
	return uttm_store_inherited(backup) ? 0 :
	       backup->ops->bytes_avail(backup);
}

uint64_t uttm_backup_resident_bytes(struct uttm_backup *backup)
{
	return backup->ops->resident_bytes ?
	       backup->ops->resident_bytes(backup) : 0;
}

uint64_t uttm_backup_writeback(struct uttm_backup *backup, uint64_t bytes)
{
	return backup->ops->writeback && bytes ?
	       backup->ops->writeback(backup, bytes) : 0;
}

unsigned long uttm_backup_handles(const struct uttm_backup *backup)
{
	return (unsigned long)__atomic_load_n(&backup->handles,
					      __ATOMIC_RELAXED);
}
