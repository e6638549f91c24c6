// SPDX-License-Identifier: MIT
/*
 * uttm.Context, the world devices live in (page limits, statistics), and
 * uttm.Shrinker, its count/scan interface (uttm/shrinker.h).
 */
#include "uttm_py.h"

static PyObject *context_new(PyTypeObject *type, PyObject *args,
			     PyObject *kwargs)
{
	static char *keywords[] = { "page_limit", "dma32_page_limit", NULL };
	struct uttm_context_params params = { 0 };
	struct uttm_py_context *self;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$O&O&:Context",
					 keywords, uttm_py_size,
					 &params.page_limit, uttm_py_size,
					 &params.dma32_page_limit))
		return NULL;
	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_context_create(&params, &self->ctx);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error(ret, "creating a context");
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
	  "The context's counters, a dict (in pages): pages_allocated,\n"
	  "dma32_pages_allocated, page_limit, dma32_page_limit, pool_pages,\n"
	  "objects, pages_purged, pages_backed_up, pages_restored.",
	  NULL },
	{ "shrinker", (getter)context_shrinker, NULL,
	  "The context's shrinker: count(), scan(), trim_pools().", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMethodDef context_methods[] = {
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
	{ Py_tp_doc, "Context(*, page_limit=0, dma32_page_limit=0)\n--\n\n"
		     "The world devices live in: the page limits the pages\n"
		     "of all its buffer objects are held under (0: half of\n"
		     "RAM, and 2 GiB for DMA32), and the statistics.  Sizes\n"
		     "are ints in bytes or strs such as '256M'." },
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
