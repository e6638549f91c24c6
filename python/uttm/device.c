// SPDX-License-Identifier: MIT
/*
 * uttm.Device: a pool drawing from an arena, a default store, and the LRU
 * its buffer objects sit on while they can be shrunk (uttm/device.h).
 */
#include "uttm_py.h"

/* Share of the page limit a device's pool keeps by default, as uttm run's. */
#define POOL_SHARE 32

static int caching_converter(PyObject *arg, void *out)
{
	static const char *const names[] = { "plain", "locked" };
	static const enum uttm_caching states[] = { UTTM_PLAIN, UTTM_LOCKED };
	int i = uttm_py_choice(arg, "caching", names, ARRAY_SIZE(names));

	if (i < 0)
		return 0;
	*(enum uttm_caching *)out = states[i];
	return 1;
}

/*
 * The arena the device draws from: the one given, else the insert
 * store's (which must be the device's), else a new one of twice the
 * context's page limit, as uttm run makes.
 */
static PyObject *device_arena(struct uttm_py_state *st, PyObject *arena,
			      PyObject *store, uint64_t page_limit)
{
	PyObject *own = NULL;

	if (store && PyObject_TypeCheck(store, st->insert_store_type))
		own = ((struct uttm_py_store *)store)->arena;
	if (arena && arena != Py_None) {
		if (!uttm_py_check(arena, st->arena_type, "arena"))
			return NULL;
		if (own && own != arena) {
			PyErr_SetString(PyExc_ValueError,
					"an InsertStore takes blocks of its "
					"own arena: the device must use it");
			return NULL;
		}
		return Py_NewRef(arena);
	}
	if (own)
		return Py_NewRef(own);
	return PyObject_CallFunction((PyObject *)st->arena_type, "K",
				     (unsigned long long)(2 * page_limit));
}

static PyObject *device_new(PyTypeObject *type, PyObject *args,
			    PyObject *kwargs)
{
	static char *keywords[] = { "context", "store", "arena", "caching",
				    "pool_size", NULL };
	struct uttm_device_params params = { .caching = UTTM_PLAIN };
	PyObject *context, *store = NULL, *arena = NULL, *pool = NULL;
	struct uttm_py_state *st = PyModule_GetState(PyType_GetModule(type));
	struct uttm_context_stats cs;
	struct uttm_py_device *self;
	uint64_t pool_bytes;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O$OO&O:Device",
					 keywords, &context, &store, &arena,
					 caching_converter, &params.caching,
					 &pool))
		return NULL;
	if (!uttm_py_check(context, st->context_type, "context"))
		return NULL;
	if (store == Py_None)
		store = NULL;
	if (store && !uttm_py_check(store, st->store_type, "store"))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	uttm_context_stats(((struct uttm_py_context *)context)->ctx, &cs);
	Py_END_ALLOW_THREADS
	pool_bytes = (cs.page_limit / POOL_SHARE) << UTTM_PAGE_SHIFT;
	if (pool && pool != Py_None && !uttm_py_size(pool, &pool_bytes))
		return NULL;

	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	self->context = Py_NewRef(context);
	self->store = Py_XNewRef(store);
	self->arena = device_arena(st, arena, store,
				   cs.page_limit << UTTM_PAGE_SHIFT);
	if (!self->arena) {
		Py_DECREF(self);
		return NULL;
	}
	params.pool.arena = ((struct uttm_py_arena *)self->arena)->arena;
	params.pool.max_pages = (unsigned long)(pool_bytes >> UTTM_PAGE_SHIFT);
	params.backup = store ? ((struct uttm_py_store *)store)->backup : NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_device_create(((struct uttm_py_context *)context)->ctx,
				 &params, &self->dev);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error(ret, "creating a device");
	}
	return (PyObject *)self;
}

/* The store goes before the arena: an insert store's blocks live there. */
static void device_dealloc(struct uttm_py_device *self)
{
	if (self->dev) {
		Py_BEGIN_ALLOW_THREADS
		uttm_device_destroy(self->dev);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->store);
	Py_XDECREF(self->arena);
	Py_XDECREF(self->context);
	uttm_py_free((PyObject *)self);
}

static PyObject *stats_dict(const struct uttm_device_stats *s,
			    unsigned long handles)
{
	const struct uttm_py_counter counters[] = {
		{ "objects", s->objects },
		{ "shrinkable_pages", s->shrinkable_pages },
		{ "purgeable_pages", s->purgeable_pages },
		{ "pinned", s->pinned },
		{ "delayed", s->delayed },
		{ "store_handles", handles },
	};

	return uttm_py_counters(counters, ARRAY_SIZE(counters));
}

static PyObject *device_stats(struct uttm_py_device *self, void *closure)
{
	struct uttm_backup *backup = uttm_device_backup(self->dev);
	struct uttm_device_stats s;

	Py_BEGIN_ALLOW_THREADS
	uttm_device_stats(self->dev, &s);
	Py_END_ALLOW_THREADS
	return stats_dict(&s, backup ? uttm_backup_handles(backup) : 0);
}

static PyObject *device_context(struct uttm_py_device *self, void *closure)
{
	return Py_NewRef(self->context);
}

static PyObject *device_store(struct uttm_py_device *self, void *closure)
{
	return Py_NewRef(self->store ? self->store : Py_None);
}

static PyObject *device_arena_get(struct uttm_py_device *self, void *closure)
{
	return Py_NewRef(self->arena);
}

static PyGetSetDef device_getset[] = {
	{ "stats", (getter)device_stats, NULL,
	  "The device's counters, a dict: objects, shrinkable_pages,\n"
	  "purgeable_pages, pinned, delayed and store_handles.",
	  NULL },
	{ "context", (getter)device_context, NULL, "The device's context.",
	  NULL },
	{ "store", (getter)device_store, NULL,
	  "The default store of its objects, or None.", NULL },
	{ "arena", (getter)device_arena_get, NULL,
	  "The arena its pool draws from.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot device_slots[] = {
	{ Py_tp_doc, "Device(context, store=None, *, arena=None, "
		     "caching='plain', pool_size=None)\n--\n\n"
		     "Buffer objects' home: a pool of pages drawn from\n"
		     "arena, the store their pages are backed up into (None:\n"
		     "they can only be purged), and the LRU the shrinker\n"
		     "walks.  Without an arena the device makes one of twice\n"
		     "the context's page limit (an InsertStore's own arena\n"
		     "with that store). caching 'plain' or 'locked'\n"
		     "(mlock()ed pages); pool_size the bytes the pool keeps\n"
		     "for reuse (None: a 32nd of the page limit)." },
	{ Py_tp_new, device_new },
	{ Py_tp_dealloc, device_dealloc },
	{ Py_tp_getset, device_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_device_spec = {
	.name = "uttm.Device",
	.basicsize = sizeof(struct uttm_py_device),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = device_slots,
};
