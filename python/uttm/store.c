// SPDX-License-Identifier: MIT
/*
 * uttm.Store and the stores uttm provides (uttm/backup.h): where a
 * buffer object's pages go when they are backed up.  Each class holds one
 * reference to its store; a device takes its own.
 */
#include "uttm_py.h"

/* A new store object keeping @fault (and @arena) alive, or NULL. */
static struct uttm_py_store *store_alloc(PyTypeObject *type, PyObject *fault,
					 struct uttm_fault **injector)
{
	struct uttm_py_store *self = uttm_py_alloc(type);

	if (!self)
		return NULL;
	if (uttm_py_fault_arg((PyObject *)self, fault, injector)) {
		Py_DECREF(self);
		return NULL;
	}
	self->fault = Py_XNewRef(*injector ? fault : NULL);
	return self;
}

/* Finishes a constructor: the store made, or the error raised. */
static PyObject *store_made(struct uttm_py_store *self, int ret,
			    const char *what, PyObject *path)
{
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error_path(ret, what, path);
	}
	return (PyObject *)self;
}

static void store_dealloc(struct uttm_py_store *self)
{
	if (self->backup) {
		Py_BEGIN_ALLOW_THREADS
		uttm_backup_put(self->backup);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->arena);
	Py_XDECREF(self->lower);
	Py_XDECREF(self->fault);
	uttm_py_free((PyObject *)self);
}

static PyObject *store_handles(struct uttm_py_store *self, void *closure)
{
	return PyLong_FromUnsignedLong(uttm_backup_handles(self->backup));
}

static PyObject *store_bytes_avail(struct uttm_py_store *self, void *closure)
{
	uint64_t bytes;

	Py_BEGIN_ALLOW_THREADS
	bytes = uttm_backup_bytes_avail(self->backup);
	Py_END_ALLOW_THREADS
	return PyLong_FromUnsignedLongLong(bytes);
}

static PyGetSetDef store_getset[] = {
	{ "handles", (getter)store_handles, NULL,
	  "Pages the store holds (live handles).", NULL },
	{ "bytes_avail", (getter)store_bytes_avail, NULL,
	  "Bytes the store can still take: free swap for shmem and insert,\n"
	  "free slots and disk space for a file, what is left of the cap\n"
	  "for compressed RAM.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot store_slots[] = {
	{ Py_tp_doc, "Where pages go when buffer objects are backed up.\n"
		     "\n"
		     "Not made directly: ShmemStore, InsertStore, FileStore\n"
		     "and CompressedStore are the stores.  Hand one to a\n"
		     "Device." },
	{ Py_tp_dealloc, store_dealloc },
	{ Py_tp_getset, store_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_store_spec = {
	.name = "uttm.Store",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = store_slots,
};

static PyObject *shmem_new(PyTypeObject *type, PyObject *args,
			   PyObject *kwargs)
{
	static char *keywords[] = { "capacity", "fault", NULL };
	struct uttm_backup_shmem_params params = { 0 };
	struct uttm_py_store *self;
	PyObject *fault = NULL;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&$O:ShmemStore",
					 keywords, uttm_py_size,
					 &params.capacity, &fault))
		return NULL;
	self = store_alloc(type, fault, &params.fault);
	if (!self)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_backup_shmem_create(&params, &self->backup);
	Py_END_ALLOW_THREADS
	return store_made(self, ret, "creating a shmem store", NULL);
}

static PyType_Slot shmem_slots[] = {
	{ Py_tp_doc, "ShmemStore(capacity=0, *, fault=None)\n--\n\n"
		     "Pages copied into a memfd, as the kernel's TTM backs\n"
		     "up into shmem: they leave memory when the kernel swaps\n"
		     "the file out.  capacity 0 bounds it by the swap the\n"
		     "process can use (none: it refuses every backup, since\n"
		     "pages in a memfd that cannot be swapped free nothing)." },
	{ Py_tp_new, shmem_new },
	{ 0, NULL },
};

PyType_Spec uttm_py_shmem_store_spec = {
	.name = "uttm.ShmemStore",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = shmem_slots,
};

static PyObject *insert_new(PyTypeObject *type, PyObject *args,
			    PyObject *kwargs)
{
	static char *keywords[] = { "arena", "capacity", "fault", NULL };
	struct uttm_backup_insert_params params = { 0 };
	struct uttm_py_store *self;
	PyObject *arena, *fault = NULL;
	struct uttm_py_state *st;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O&$O:InsertStore",
					 keywords, &arena, uttm_py_size,
					 &params.capacity, &fault))
		return NULL;
	st = PyModule_GetState(PyType_GetModule(type));
	if (!uttm_py_check(arena, st->arena_type, "arena"))
		return NULL;
	self = store_alloc(type, fault, &params.fault);
	if (!self)
		return NULL;
	self->arena = Py_NewRef(arena);
	params.arena = ((struct uttm_py_arena *)arena)->arena;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_backup_insert_create(&params, &self->backup);
	Py_END_ALLOW_THREADS
	return store_made(self, ret, "creating an insert store", NULL);
}

static PyObject *insert_arena(struct uttm_py_store *self, void *closure)
{
	return Py_NewRef(self->arena);
}

static PyGetSetDef insert_getset[] = {
	{ "arena", (getter)insert_arena, NULL,
	  "The arena whose blocks the store takes.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot insert_slots[] = {
	{ Py_tp_doc, "InsertStore(arena, capacity=0, *, fault=None)\n--\n\n"
		     "The zero-copy store: it takes the arena's blocks over\n"
		     "where they lie, without copying, and the kernel swaps\n"
		     "them out of the arena's memfd.  The device it serves\n"
		     "must draw from the same arena.  capacity as\n"
		     "ShmemStore's." },
	{ Py_tp_new, insert_new },
	{ Py_tp_getset, insert_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_insert_store_spec = {
	.name = "uttm.InsertStore",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = insert_slots,
};

static PyObject *file_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = { "path", "max_bytes", "sync", "buffered",
				    "fault", NULL };
	struct uttm_backup_file_params params = { 0 };
	PyObject *path = NULL, *fault = NULL, *result;
	struct uttm_py_store *self;
	int sync = 0, buffered = 0, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&O&$ppO:FileStore",
					 keywords, uttm_py_path, &path,
					 uttm_py_size, &params.max_bytes, &sync,
					 &buffered, &fault))
		return NULL;
	self = store_alloc(type, fault, &params.fault);
	if (!self) {
		Py_XDECREF(path);
		return NULL;
	}
	params.path = path ? PyBytes_AsString(path) : NULL;
	params.flags = (sync ? UTTM_BACKUP_FILE_SYNC : 0) |
		       (buffered ? UTTM_BACKUP_FILE_BUFFERED : 0);
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_backup_file_create(&params, &self->backup);
	Py_END_ALLOW_THREADS
	result = store_made(self, ret, "creating a file store", path);
	Py_XDECREF(path);
	return result;
}

static PyObject *file_stats_dict(const struct uttm_backup_file_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "slots_used", s->slots_used },
		{ "max_slots", s->max_slots },
		{ "idle_bytes", s->idle_bytes },
		{ "batches", s->batches },
		{ "requests", s->requests },
		{ "syncs", s->syncs },
	};
	PyObject *dict = uttm_py_counters(counters, ARRAY_SIZE(counters));

	dict = uttm_py_dict_add(dict, "direct", PyBool_FromLong(s->direct));
	return uttm_py_dict_add(dict, "io_uring", PyBool_FromLong(s->io_uring));
}

static PyObject *file_stats(struct uttm_py_store *self, void *closure)
{
	struct uttm_backup_file_stats s;

	Py_BEGIN_ALLOW_THREADS
	uttm_backup_file_stats(self->backup, &s);
	Py_END_ALLOW_THREADS
	return file_stats_dict(&s);
}

static PyObject *file_trim(struct uttm_py_store *self, PyObject *unused)
{
	Py_BEGIN_ALLOW_THREADS
	uttm_backup_file_trim(self->backup);
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

static PyGetSetDef file_getset[] = {
	{ "stats", (getter)file_stats, NULL,
	  "How the store does its I/O, a dict: direct, io_uring,\n"
	  "slots_used, max_slots, idle_bytes, batches, requests, syncs.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMethodDef file_methods[] = {
	{ "trim", (PyCFunction)file_trim, METH_NOARGS,
	  "trim()\n--\n\n"
	  "Give the disk space of dropped pages back to the file system." },
	{ NULL, NULL, 0, NULL },
};

static PyType_Slot file_slots[] = {
	{ Py_tp_doc, "FileStore(path=None, max_bytes=0, *, sync=False, "
		     "buffered=False, fault=None)\n--\n\n"
		     "Pages in a file on disk, written and read with direct\n"
		     "I/O (batched through io_uring where the kernel\n"
		     "allows).  path is a directory, in which the store\n"
		     "makes a file without a name, or a new file's path;\n"
		     "None for the temporary directory.  max_bytes caps it\n"
		     "(0: the disk's free space). sync: pwritev/preadv only;\n"
		     "buffered: through the page cache." },
	{ Py_tp_new, file_new },
	{ Py_tp_getset, file_getset },
	{ Py_tp_methods, file_methods },
	{ 0, NULL },
};

PyType_Spec uttm_py_file_store_spec = {
	.name = "uttm.FileStore",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = file_slots,
};

static int compressor_converter(PyObject *arg, void *out)
{
	static const char *const names[] = { "lz4", "zstd" };
	static const enum uttm_compressor compressors[] = {
		UTTM_COMPRESSOR_LZ4,
		UTTM_COMPRESSOR_ZSTD,
	};
	int i = uttm_py_choice(arg, "compressor", names, ARRAY_SIZE(names));

	if (i < 0)
		return 0;
	*(enum uttm_compressor *)out = compressors[i];
	return 1;
}

static PyObject *compressed_new(PyTypeObject *type, PyObject *args,
				PyObject *kwargs)
{
	static char *keywords[] = { "cap", "compressor", "level",
				    "max_compressed", "lower", "fault", NULL };
	struct uttm_backup_compressed_params params = { 0 };
	struct uttm_py_state *st = PyType_GetModuleState(type);
	PyObject *fault = NULL, *lower = Py_None;
	struct uttm_py_store *self;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs,
					 "|O&$O&iIOO:CompressedStore", keywords,
					 uttm_py_size, &params.cap,
					 compressor_converter,
					 &params.compressor, &params.level,
					 &params.max_compressed, &lower, &fault))
		return NULL;
	if (lower != Py_None && !uttm_py_check(lower, st->store_type, "lower"))
		return NULL;
	self = store_alloc(type, fault, &params.fault);
	if (!self)
		return NULL;
	if (lower != Py_None) {
		/* Its arena and injector, which the C store does not keep. */
		self->lower = Py_NewRef(lower);
		params.lower = ((struct uttm_py_store *)lower)->backup;
	}
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_backup_compressed_create(&params, &self->backup);
	Py_END_ALLOW_THREADS
	return store_made(self, ret, "creating a compressed store", NULL);
}

static PyObject *
compressed_stats_dict(const struct uttm_backup_compressed_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "pages", s->pages },
		{ "same_filled_pages", s->same_filled_pages },
		{ "raw_pages", s->raw_pages },
		{ "compressed_bytes", s->compressed_bytes },
		{ "pool_bytes", s->pool_bytes },
		{ "metadata_bytes", s->metadata_bytes },
		{ "memory_bytes", s->memory_bytes },
		{ "lower_pages", s->lower_pages },
	};
	PyObject *dict = uttm_py_counters(counters, ARRAY_SIZE(counters));

	return uttm_py_dict_add(dict, "ratio", PyFloat_FromDouble(s->ratio));
}

static PyObject *compressed_stats(struct uttm_py_store *self, void *closure)
{
	struct uttm_backup_compressed_stats s;

	uttm_backup_compressed_stats(self->backup, &s);
	return compressed_stats_dict(&s);
}

static PyObject *compressed_lower(struct uttm_py_store *self, void *closure)
{
	return Py_NewRef(self->lower ? self->lower : Py_None);
}

static PyGetSetDef compressed_getset[] = {
	{ "stats", (getter)compressed_stats, NULL,
	  "What the store holds, a dict: pages, same_filled_pages,\n"
	  "raw_pages, compressed_bytes, pool_bytes, metadata_bytes,\n"
	  "memory_bytes, ratio, and lower_pages, those of the pages that\n"
	  "moved down to the lower store.",
	  NULL },
	{ "lower", (getter)compressed_lower, NULL,
	  "The store the coldest pages move down to, or None.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot compressed_slots[] = {
	{ Py_tp_doc, "CompressedStore(cap=0, *, compressor='lz4', level=0, "
		     "max_compressed=0, lower=None, fault=None)\n--\n\n"
		     "Pages compressed in memory, as zram keeps them, with\n"
		     "same-filled pages kept as their value alone.  cap\n"
		     "bounds the memory it holds (0: the machine's RAM).\n"
		     "compressor 'lz4' or 'zstd'; level the algorithm's (0:\n"
		     "its default); pages that compress above max_compressed\n"
		     "bytes are kept raw (0: seven eighths of a page).\n"
		     "lower: a store that copies pages in (a FileStore, a\n"
		     "RedisStore, not an InsertStore), which the coldest\n"
		     "pages move down to at the cap or when the budget needs\n"
		     "the memory, as zswap writes back to swap; restores find\n"
		     "pages in either tier.  It is kept as long as this one." },
	{ Py_tp_new, compressed_new },
	{ Py_tp_getset, compressed_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_compressed_store_spec = {
	.name = "uttm.CompressedStore",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = compressed_slots,
};

static PyObject *redis_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = { "url", "password", "key_prefix",
				    "max_bytes", "replicas", "timeout_ms",
				    "fault", NULL };
	struct uttm_backup_redis_params params = { 0 };
	struct uttm_py_store *self;
	PyObject *fault = NULL;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z$zzO&IIO:RedisStore",
					 keywords, &params.url,
					 &params.password, &params.key_prefix,
					 uttm_py_size, &params.max_bytes,
					 &params.replicas, &params.timeout_ms,
					 &fault))
		return NULL;
	self = store_alloc(type, fault, &params.fault);
	if (!self)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_backup_redis_create(&params, &self->backup);
	Py_END_ALLOW_THREADS
	return store_made(self, ret, "creating a Redis store", NULL);
}

static PyObject *redis_stats_dict(const struct uttm_backup_redis_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "masters", s->masters },
		{ "pages", s->pages },
		{ "batches", s->batches },
		{ "redirections", s->redirections },
		{ "map_refreshes", s->map_refreshes },
		{ "reconnects", s->reconnects },
	};
	PyObject *dict = uttm_py_counters(counters, ARRAY_SIZE(counters));

	dict = uttm_py_dict_add(dict, "cluster", PyBool_FromLong(s->cluster));
	return uttm_py_dict_add(dict, "key_prefix",
				PyUnicode_FromString(s->key_prefix));
}

static PyObject *redis_stats(struct uttm_py_store *self, void *closure)
{
	struct uttm_backup_redis_stats s;

	Py_BEGIN_ALLOW_THREADS
	uttm_backup_redis_stats(self->backup, &s);
	Py_END_ALLOW_THREADS
	return redis_stats_dict(&s);
}

static PyGetSetDef redis_getset[] = {
	{ "stats", (getter)redis_stats, NULL,
	  "What the store has done, a dict: cluster, masters, pages,\n"
	  "batches, redirections, map_refreshes, reconnects, key_prefix.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot redis_slots[] = {
	{ Py_tp_doc, "RedisStore(url=None, *, password=None, "
		     "key_prefix=None, max_bytes=0, replicas=0, "
		     "timeout_ms=0, fault=None)\n--\n\n"
		     "Pages as keys on a Redis server or Redis Cluster, in\n"
		     "pipelined batches.  url\n"
		     "'redis://[USER[:PASSWORD]@]HOST[:PORT]' (None:\n"
		     "127.0.0.1:6379); password overrides the URL's (None:\n"
		     "the URL's, else $UTTM_REDIS_PASSWORD); key_prefix\n"
		     "starts every key (None: 'uttm:'); max_bytes caps the\n"
		     "store (0: the servers' room); a batch counts once\n"
		     "replicas replicas have it; timeout_ms bounds each\n"
		     "round trip (0: 5000)." },
	{ Py_tp_new, redis_new },
	{ Py_tp_getset, redis_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_redis_store_spec = {
	.name = "uttm.RedisStore",
	.basicsize = sizeof(struct uttm_py_store),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = redis_slots,
};
