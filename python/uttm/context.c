// SPDX-License-Identifier: MIT
/*
 * uttm.Context, the world devices live in (page limits, the memory
 * budget, statistics), uttm.Shrinker, its count/scan interface
 * (uttm/shrinker.h), and uttm.memory_limit(), what a budget is checked
 * against.
 */
#include <errno.h>

#include "uttm_py.h"

/* Reads the limits, the GIL released: 0, or -1 with an OSError set. */
static int read_memory_limit(struct uttm_memory_limit *limit)
{
	int ret;

	Py_BEGIN_ALLOW_THREADS
	ret = uttm_memory_limit(limit);
	Py_END_ALLOW_THREADS
	if (ret) {
		uttm_py_error(ret, "reading the memory limit");
		return -1;
	}
	return 0;
}

/*
 * Raises the error of a budget the library refused: -E2BIG, a budget
 * above what the process may have, is a ValueError naming the limit it
 * is above, the cgroup's or the machine's.
 */
static PyObject *budget_error(int err, uint64_t budget, const char *what)
{
	struct uttm_memory_limit limit;

	if (err != -E2BIG)
		return uttm_py_error(err, what);
	if (read_memory_limit(&limit))
		return NULL;
	PyErr_Format(PyExc_ValueError,
		     "a budget of %llu bytes is above %s (%llu bytes)",
		     (unsigned long long)budget,
		     limit.cgroup_bytes < limit.ram_bytes ?
			     "the memory cgroup's limit" :
			     "the machine's memory",
		     (unsigned long long)limit.bytes);
	return NULL;
}

static PyObject *context_new(PyTypeObject *type, PyObject *args,
			     PyObject *kwargs)
{
	static char *keywords[] = { "page_limit", "dma32_page_limit", "budget",
				    NULL };
	struct uttm_context_params params = { 0 };
	struct uttm_py_context *self;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$O&O&O&:Context",
					 keywords, uttm_py_size,
					 &params.page_limit, uttm_py_size,
					 &params.dma32_page_limit, uttm_py_size,
					 &params.budget))
		return NULL;
	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_context_create(&params, &self->ctx);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		return budget_error(ret, params.budget, "creating a context");
	}
	return (PyObject *)self;
}

static void context_dealloc(struct uttm_py_context *self)
{
	if (self->ctx) {
		Py_BEGIN_ALLOW_THREADS
		uttm_context_destroy(self->ctx);
		Py_END_ALLOW_THREADS
	}
	uttm_py_free((PyObject *)self);
}

static PyObject *stats_dict(const struct uttm_context_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "pages_allocated", s->pages_allocated },
		{ "dma32_pages_allocated", s->dma32_pages_allocated },
		{ "page_limit", s->page_limit },
		{ "dma32_page_limit", s->dma32_page_limit },
		{ "pool_pages", s->pool_pages },
		{ "objects", s->objects },
		{ "pages_purged", s->pages_purged },
		{ "pages_backed_up", s->pages_backed_up },
		{ "pages_restored", s->pages_restored },
		{ "budget", s->budget },
		{ "pressure_limit", s->pressure_limit },
		{ "resident_bytes", s->resident_bytes },
		{ "store_bytes", s->store_bytes },
		{ "metadata_bytes", s->metadata_bytes },
		{ "peak_resident_bytes", s->peak_resident_bytes },
		{ "pages_recycled", s->pages_recycled },
		{ "pages_released", s->pages_released },
		{ "objects_prefetched", s->objects_prefetched },
		{ "restores", s->restores },
		{ "restore_ns", s->restore_ns },
	};

	return uttm_py_counters(counters, ARRAY_SIZE(counters));
}

static PyObject *context_stats(struct uttm_py_context *self, void *closure)
{
	struct uttm_context_stats s;

	Py_BEGIN_ALLOW_THREADS
	uttm_context_stats(self->ctx, &s);
	Py_END_ALLOW_THREADS
	return stats_dict(&s);
}

static PyObject *context_budget(struct uttm_py_context *self, void *closure)
{
	struct uttm_context_stats s;

	uttm_context_stats(self->ctx, &s);
	return PyLong_FromUnsignedLongLong(s.budget);
}

static int context_set_budget(struct uttm_py_context *self, PyObject *value,
			      void *closure)
{
	uint64_t bytes;
	int ret;

	if (!value) {
		PyErr_SetString(PyExc_AttributeError,
				"the budget cannot be deleted; set it to 0");
		return -1;
	}
	if (!uttm_py_size(value, &bytes))
		return -1;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_context_set_budget(self->ctx, bytes);
	Py_END_ALLOW_THREADS
	if (ret) {
		budget_error(ret, bytes, "setting the budget");
		return -1;
	}
	return 0;
}

static PyObject *context_reclaim(struct uttm_py_context *self, PyObject *arg)
{
	uint64_t bytes;

	if (!uttm_py_size(arg, &bytes))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	bytes = uttm_context_reclaim(self->ctx, bytes);
	Py_END_ALLOW_THREADS
	return PyLong_FromUnsignedLongLong(bytes);
}

static PyObject *context_shrinker(struct uttm_py_context *self,
				  void *closure)
{
	struct uttm_py_state *st = uttm_py_state_of((PyObject *)self);
	struct uttm_py_shrinker *shrinker = uttm_py_alloc(st->shrinker_type);

	if (shrinker)
		shrinker->context = Py_NewRef((PyObject *)self);
	return (PyObject *)shrinker;
}

static int write_dump(void *ctx, FILE *out)
{
	return uttm_context_dump(ctx, out);
}

static int write_metrics(void *ctx, FILE *out)
{
	return uttm_context_metrics(ctx, out);
}

static PyObject *context_dump(struct uttm_py_context *self, PyObject *unused)
{
	return uttm_py_capture(write_dump, self->ctx);
}

static PyObject *context_metrics(struct uttm_py_context *self,
				 PyObject *unused)
{
	return uttm_py_capture(write_metrics, self->ctx);
}

static PyGetSetDef context_getset[] = {
	{ "stats", (getter)context_stats, NULL,
	  "The context's counters, a dict.  In pages: pages_allocated,\n"
	  "dma32_pages_allocated, page_limit, dma32_page_limit, pool_pages,\n"
	  "pages_purged, pages_backed_up, pages_restored, pages_recycled\n"
	  "(freed by a validate's own reclaim and taken by it), pages_released\n"
	  "(given back to the system); objects, objects_prefetched, restores\n"
	  "and their restore_ns; in bytes: budget, pressure_limit,\n"
	  "resident_bytes (what the budget counts: pages, stores' memory,\n"
	  "bookkeeping), of which store_bytes and metadata_bytes, and\n"
	  "peak_resident_bytes.",
	  NULL },
	{ "budget", (getter)context_budget, (setter)context_set_budget,
	  "The memory budget in bytes, 0 for none.  Setting it (an int or\n"
	  "a size such as '256M') below what the context holds reclaims\n"
	  "the difference at once; a budget above uttm.memory_limit() is a\n"
	  "ValueError.",
	  NULL },
	{ "shrinker", (getter)context_shrinker, NULL,
	  "The context's shrinker: count(), scan(), trim_pools().", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMethodDef context_methods[] = {
	{ "reclaim", (PyCFunction)context_reclaim, METH_O,
	  "reclaim(nbytes)\n--\n\n"
	  "Free about nbytes of the memory the budget counts, cheapest\n"
	  "first: pooled pages, purgeable objects, backups, the stores' own\n"
	  "memory written out.  Pinned (mapped) and busy objects are left\n"
	  "alone; objects go whole, so it may free more.  Runs with the GIL\n"
	  "released.  Returns the bytes freed." },
	{ "dump", (PyCFunction)context_dump, METH_NOARGS,
	  "dump()\n--\n\n"
	  "The context's state as text, as TTM's debugfs files show it: the\n"
	  "counters, then each device's figures and pool table." },
	{ "metrics", (PyCFunction)context_metrics, METH_NOARGS,
	  "metrics()\n--\n\n"
	  "The counters in the OpenMetrics text format, for a Prometheus\n"
	  "endpoint." },
	{ NULL, NULL, 0, NULL },
};

static PyType_Slot context_slots[] = {
	{ Py_tp_doc, "Context(*, page_limit=0, dma32_page_limit=0, "
		     "budget=0)\n--\n\n"
		     "The world devices live in: the page limits the pages\n"
		     "of all its buffer objects are held under (0: half of\n"
		     "RAM, and 2 GiB for DMA32), the budget all the memory\n"
		     "they cause is held under (pages, pools, the stores'\n"
		     "memory, bookkeeping; 0 for none, at most\n"
		     "uttm.memory_limit()['bytes']), and the statistics.\n"
		     "Sizes are ints in bytes or strs such as '256M'." },
	{ Py_tp_new, context_new },
	{ Py_tp_dealloc, context_dealloc },
	{ Py_tp_getset, context_getset },
	{ Py_tp_methods, context_methods },
	{ 0, NULL },
};

PyType_Spec uttm_py_context_spec = {
	.name = "uttm.Context",
	.basicsize = sizeof(struct uttm_py_context),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = context_slots,
};

static struct uttm_context *shrinker_ctx(struct uttm_py_shrinker *self)
{
	return ((struct uttm_py_context *)self->context)->ctx;
}

static void shrinker_dealloc(struct uttm_py_shrinker *self)
{
	Py_XDECREF(self->context);
	uttm_py_free((PyObject *)self);
}

static PyObject *shrinker_count(struct uttm_py_shrinker *self,
				PyObject *unused)
{
	unsigned long pages;

	Py_BEGIN_ALLOW_THREADS
	pages = uttm_shrinker_count(shrinker_ctx(self));
	Py_END_ALLOW_THREADS
	return PyLong_FromUnsignedLong(pages);
}

/* Frees up to @arg pages with @reclaim, the GIL released. */
static PyObject *shrink(struct uttm_py_shrinker *self, PyObject *arg,
			unsigned long (*reclaim)(struct uttm_context *ctx,
					      unsigned long nr_to_scan))
{
	unsigned long pages;

	if (!uttm_py_pages(arg, &pages))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	pages = reclaim(shrinker_ctx(self), pages);
	Py_END_ALLOW_THREADS
	return PyLong_FromUnsignedLong(pages);
}

static PyObject *shrinker_scan(struct uttm_py_shrinker *self, PyObject *arg)
{
	return shrink(self, arg, uttm_shrinker_scan);
}

static PyObject *shrinker_trim_pools(struct uttm_py_shrinker *self,
				     PyObject *arg)
{
	return shrink(self, arg, uttm_shrinker_trim_pools);
}

static PyMethodDef shrinker_methods[] = {
	{ "count", (PyCFunction)shrinker_count, METH_NOARGS,
	  "count()\n--\n\n"
	  "Pages the shrinker could free now: those of purgeable objects,\n"
	  "and of the others as far as their stores have room." },
	{ "scan", (PyCFunction)shrinker_scan, METH_O,
	  "scan(nr_pages)\n--\n\n"
	  "Free about nr_pages pages: purgeable objects first, then objects\n"
	  "backed up, least recently used first; pinned (mapped) objects\n"
	  "are left alone.  Objects go whole, so it may free more.  Returns\n"
	  "the pages freed." },
	{ "trim_pools", (PyCFunction)shrinker_trim_pools, METH_O,
	  "trim_pools(nr_pages)\n--\n\n"
	  "Give up to nr_pages pooled pages back to the system.  Returns\n"
	  "the pages freed." },
	{ NULL, NULL, 0, NULL },
};

static PyType_Slot shrinker_slots[] = {
	{ Py_tp_doc, "The count/scan interface of a context's shrinker, as\n"
		     "the kernel's: Context.shrinker gives it.  It runs with\n"
		     "the GIL released, so other threads go on meanwhile." },
	{ Py_tp_dealloc, shrinker_dealloc },
	{ Py_tp_methods, shrinker_methods },
	{ 0, NULL },
};

PyType_Spec uttm_py_shrinker_spec = {
	.name = "uttm.Shrinker",
	.basicsize = sizeof(struct uttm_py_shrinker),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = shrinker_slots,
};

/* The process's memory limits, a dict; a cgroup without a limit is None. */
static PyObject *memory_limit(PyObject *module, PyObject *unused)
{
	struct uttm_memory_limit limit;
	PyObject *dict, *cgroup;

	if (read_memory_limit(&limit))
		return NULL;
	cgroup = limit.cgroup_bytes == UINT64_MAX ?
			 Py_NewRef(Py_None) :
			 PyLong_FromUnsignedLongLong(limit.cgroup_bytes);
	dict = uttm_py_dict_add(PyDict_New(), "ram_bytes",
				PyLong_FromUnsignedLongLong(limit.ram_bytes));
	dict = uttm_py_dict_add(dict, "cgroup_bytes", cgroup);
	return uttm_py_dict_add(dict, "bytes",
				PyLong_FromUnsignedLongLong(limit.bytes));
}

PyMethodDef uttm_py_functions[] = {
	{ "memory_limit", memory_limit, METH_NOARGS,
	  "memory_limit()\n--\n\n"
	  "How much memory this process may have at most, what a budget is\n"
	  "checked against, a dict in bytes: ram_bytes (the machine's),\n"
	  "cgroup_bytes (the tightest limit of the memory cgroups the\n"
	  "process is in, None without one) and bytes, the lower of the\n"
	  "two." },
	{ NULL, NULL, 0, NULL },
};
