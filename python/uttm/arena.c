// SPDX-License-Identifier: MIT
/*
 * uttm.Arena: the memory pages come from (uttm/page.h), a memfd mapped
 * at a reserved range that grows on demand up to its maximum.
 */
#include "uttm_py.h"

/* The injector argument of a constructor: None, or a FaultInjector. */
int uttm_py_fault_arg(PyObject *self, PyObject *arg, struct uttm_fault **out)
{
	struct uttm_py_state *st = uttm_py_state_of(self);

	*out = NULL;
	if (!arg || arg == Py_None)
		return 0;
	if (!uttm_py_check(arg, st->fault_type, "fault"))
		return -1;
	*out = ((struct uttm_py_fault *)arg)->fault;
	return 0;
}

static PyObject *arena_new(PyTypeObject *type, PyObject *args,
			   PyObject *kwargs)
{
	static char *keywords[] = { "max_bytes", "dma32", "fault", NULL };
	struct uttm_arena_params params = { 0 };
	struct uttm_py_arena *self;
	PyObject *fault = NULL;
	int dma32 = 0, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|$pO:Arena",
					 keywords, uttm_py_size,
					 &params.max_bytes, &dma32, &fault))
		return NULL;
	if (!params.max_bytes) {
		PyErr_SetString(PyExc_ValueError, "max_bytes must not be 0");
		return NULL;
	}
	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	if (uttm_py_fault_arg((PyObject *)self, fault, &params.fault)) {
		Py_DECREF(self);
		return NULL;
	}
	params.flags = dma32 ? UTTM_ARENA_DMA32 : 0;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_arena_create(&params, &self->arena);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error(ret, "creating an arena");
	}
	self->fault = Py_XNewRef(params.fault ? fault : NULL);
	return (PyObject *)self;
}

static void arena_dealloc(struct uttm_py_arena *self)
{
	if (self->arena) {
		Py_BEGIN_ALLOW_THREADS
		uttm_arena_destroy(self->arena);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->fault);
	uttm_py_free((PyObject *)self);
}

static PyObject *stats_dict(const struct uttm_arena_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "pages_allocated", s->pages_allocated },
		{ "size_bytes", s->size_bytes },
		{ "max_bytes", s->max_bytes },
		{ "resident_bytes", s->resident_bytes },
	};
	PyObject *dict = uttm_py_counters(counters, ARRAY_SIZE(counters));

	return uttm_py_dict_add(dict, "dma32", PyBool_FromLong(s->dma32));
}

static PyObject *arena_stats(struct uttm_py_arena *self, void *closure)
{
	struct uttm_arena_stats s;

	uttm_arena_stats(self->arena, &s);
	return stats_dict(&s);
}

static PyGetSetDef arena_getset[] = {
	{ "stats", (getter)arena_stats, NULL,
	  "The arena's counters, a dict: pages_allocated, size_bytes,\n"
	  "max_bytes, resident_bytes (what the kernel holds for its memfd,\n"
	  "as it reports it) and dma32.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot arena_slots[] = {
	{ Py_tp_doc, "Arena(max_bytes, *, dma32=False, fault=None)\n--\n\n"
		     "The memory pages come from: address space reserved for\n"
		     "max_bytes (an int, or a str such as '8G'), used only\n"
		     "as blocks are handed out and given back to the system\n"
		     "when they are freed.  dma32 places it below 4 GiB.\n"
		     "Devices draw their pools from it, and an InsertStore\n"
		     "takes its blocks where they lie." },
	{ Py_tp_new, arena_new },
	{ Py_tp_dealloc, arena_dealloc },
	{ Py_tp_getset, arena_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_arena_spec = {
	.name = "uttm.Arena",
	.basicsize = sizeof(struct uttm_py_arena),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = arena_slots,
};
