// SPDX-License-Identifier: MIT
/*
 * The Redis store in a libuttm built without hiredis: the functions stay,
 * so that the library's interface is the same in every build, and say
 * that the store is not there.
 */
#include <errno.h>

#include "uttm/backup.h"
#include "base/base.h"

int uttm_backup_redis_create(const struct uttm_backup_redis_params *params,
			     struct uttm_backup **out)
{
	if (UTTM_WARN_ON(!params || !out) || !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	return -EOPNOTSUPP;
}

int uttm_backup_redis_stats(struct uttm_backup *backup,
			    struct uttm_backup_redis_stats *stats)
{
	/* No store can be a Redis store here. */
	UTTM_WARN_ON(true);
	return -EINVAL;
}
