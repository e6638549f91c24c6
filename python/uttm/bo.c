// SPDX-License-Identifier: MIT
/*
 * uttm.BufferObject: memory the shrinker may purge or back up while
 * nobody maps it, and that map() or validate() brings back.
 */
#include "uttm_py.h"

#include <structmember.h>

static PyObject *bo_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *keywords[] = { "device", "size", "purgeable", NULL };
	struct uttm_py_state *st = PyModule_GetState(PyType_GetModule(type));
	struct uttm_bo_params params = { .mem_type = UTTM_PL_SYSTEM };
	struct uttm_py_bo *self;
	PyObject *device;
	int purgeable = 0, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO&|$p:BufferObject",
					 keywords, &device, uttm_py_size,
					 &params.size, &purgeable))
		return NULL;
	if (!uttm_py_check(device, st->device_type, "device"))
		return NULL;
	if (!params.size) {
		PyErr_SetString(PyExc_ValueError, "size must not be 0");
		return NULL;
	}
	params.purgeable = purgeable;
	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	self->device = Py_NewRef(device);
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_bo_create(((struct uttm_py_device *)device)->dev, &params,
			     &self->bo);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error(ret, "creating a buffer object");
	}
	return (PyObject *)self;
}

static void bo_dealloc(struct uttm_py_bo *self)
{
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	if (self->bo) {
		Py_BEGIN_ALLOW_THREADS
		uttm_bo_put(self->bo);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->device);
	uttm_py_free((PyObject *)self);
}

static PyObject *bo_map(struct uttm_py_bo *self, PyObject *unused)
{
	struct uttm_py_state *st = uttm_py_state_of((PyObject *)self);
	struct uttm_py_validate v = { .map = true };
	struct uttm_py_mapping *m = uttm_py_alloc(st->mapping_type);

	if (!m)
		return NULL;
	m->bo = Py_NewRef((PyObject *)self);
	if (uttm_py_validate(self, &v)) {
		Py_DECREF(m);
		return NULL;
	}
	m->addr = v.addr;
	m->size = (Py_ssize_t)uttm_bo_size(self->bo);
	m->open = true;
	m->pinned = true;
	m->purged = v.lost;
	m->restored = v.restored;
	return (PyObject *)m;
}

static PyObject *bo_validate(struct uttm_py_bo *self, PyObject *unused)
{
	struct uttm_py_validate v = { .map = false };

	if (uttm_py_validate(self, &v))
		return NULL;
	return PyBool_FromLong(v.lost);
}

static PyObject *bo_prefetch(struct uttm_py_bo *self, PyObject *unused)
{
	int ret;

	Py_BEGIN_ALLOW_THREADS
	ret = uttm_bo_prefetch(self->bo);
	Py_END_ALLOW_THREADS
	if (ret)
		return uttm_py_error(ret, "prefetching a buffer object");
	Py_RETURN_NONE;
}

static PyObject *bo_cancel_prefetch(struct uttm_py_bo *self, PyObject *unused)
{
	int ret;

	/* A prefetch in flight is waited for: not with the GIL held. */
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_bo_prefetch_cancel(self->bo);
	Py_END_ALLOW_THREADS
	/* 0, or -ENOENT: none was pending (self->bo is never NULL). */
	return PyBool_FromLong(!ret);
}

static PyObject *bo_size(struct uttm_py_bo *self, void *closure)
{
	return PyLong_FromUnsignedLongLong(uttm_bo_size(self->bo));
}

static PyObject *bo_device(struct uttm_py_bo *self, void *closure)
{
	return Py_NewRef(self->device);
}

/* Reads a flag of the object's page vector under its lock. */
static PyObject *bo_flag(struct uttm_py_bo *self,
			 bool (*test)(const struct uttm_tt *tt))
{
	bool set;

	Py_BEGIN_ALLOW_THREADS
	uttm_bo_lock(self->bo);
	set = test(uttm_bo_tt(self->bo));
	uttm_bo_unlock(self->bo);
	Py_END_ALLOW_THREADS
	return PyBool_FromLong(set);
}

static PyObject *bo_purgeable(struct uttm_py_bo *self, void *closure)
{
	return bo_flag(self, uttm_tt_purgeable);
}

static int bo_set_purgeable(struct uttm_py_bo *self, PyObject *value,
			    void *closure)
{
	int purgeable;

	if (!value) {
		PyErr_SetString(PyExc_AttributeError,
				"purgeable cannot be deleted");
		return -1;
	}
	purgeable = PyObject_IsTrue(value);
	if (purgeable < 0)
		return -1;
	Py_BEGIN_ALLOW_THREADS
	uttm_bo_lock(self->bo);
	uttm_bo_set_purgeable(self->bo, purgeable);
	uttm_bo_unlock(self->bo);
	Py_END_ALLOW_THREADS
	return 0;
}

static PyObject *bo_resident(struct uttm_py_bo *self, void *closure)
{
	return bo_flag(self, uttm_tt_is_populated);
}

static PyObject *bo_backed_up(struct uttm_py_bo *self, void *closure)
{
	return bo_flag(self, uttm_tt_is_backed_up);
}

static PyMethodDef bo_methods[] = {
	{ "map", (PyCFunction)bo_map, METH_NOARGS,
	  "map()\n--\n\n"
	  "Make the object resident (restoring it from its store if it was\n"
	  "backed up), pin it and return a Mapping: a writable buffer over\n"
	  "its bytes, for memoryview() or numpy.frombuffer() without a copy.\n"
	  "Use it as 'with bo.map() as buf:'; at the end the object is\n"
	  "unpinned and may be reclaimed again.  Views still alive then keep\n"
	  "it pinned until they are released, so they never dangle.\n"
	  "Mapping.purged says whether the content was dropped since the\n"
	  "last map (it is then zeroed).  Raises OSError when the object\n"
	  "cannot be made resident, its restore state kept for the next\n"
	  "call; KeyboardInterrupt stops a long restore the same way." },
	{ "validate", (PyCFunction)bo_validate, METH_NOARGS,
	  "validate()\n--\n\n"
	  "Make the object resident without mapping it, e.g. from a thread\n"
	  "that loads what will be needed next; it stays reclaimable.\n"
	  "Returns whether its content was dropped since the last validate;\n"
	  "the next Mapping.purged says it too.  Errors as map()'s." },
	{ "prefetch", (PyCFunction)bo_prefetch, METH_NOARGS,
	  "prefetch()\n--\n\n"
	  "Start bringing the object back without waiting: the context's\n"
	  "prefetch thread restores it, within the budget, while Python goes\n"
	  "on; the next map() finds it resident or waits only for the rest.\n"
	  "A prefetched object nobody maps is reclaimable like any other.\n"
	  "Raises OSError when the thread cannot be started." },
	{ "cancel_prefetch", (PyCFunction)bo_cancel_prefetch, METH_NOARGS,
	  "cancel_prefetch()\n--\n\n"
	  "Withdraw a prefetch of the object, or stop it where it is (the\n"
	  "restore resumes at the next map()).  Returns whether one was\n"
	  "pending." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef bo_getset[] = {
	{ "size", (getter)bo_size, NULL, "Its size in bytes, whole pages.",
	  NULL },
	{ "device", (getter)bo_device, NULL, "Its device.", NULL },
	{ "purgeable", (getter)bo_purgeable, (setter)bo_set_purgeable,
	  "Whether its content may be dropped under pressure instead of\n"
	  "backed up (the kernel's DONTNEED): a cache of what can be\n"
	  "recomputed.  Purgeable objects go first.",
	  NULL },
	{ "resident", (getter)bo_resident, NULL,
	  "Whether its pages are in memory now.", NULL },
	{ "backed_up", (getter)bo_backed_up, NULL,
	  "Whether its content is, at least partly, in its store.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef bo_members[] = {
	{ "__weaklistoffset__", T_PYSSIZET,
	  offsetof(struct uttm_py_bo, weakrefs), READONLY, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static PyType_Slot bo_slots[] = {
	{ Py_tp_doc, "BufferObject(device, size, *, purgeable=False)\n--\n\n"
		     "size bytes (an int, or a str such as '4M'; whole\n"
		     "pages) that the shrinker may take back while nobody\n"
		     "maps them: purged if purgeable, else backed up into\n"
		     "the device's store, and restored by the next map() or\n"
		     "validate(). New objects read as zeros." },
	{ Py_tp_new, bo_new },
	{ Py_tp_dealloc, bo_dealloc },
	{ Py_tp_methods, bo_methods },
	{ Py_tp_getset, bo_getset },
	{ Py_tp_members, bo_members },
	{ 0, NULL },
};

PyType_Spec uttm_py_bo_spec = {
	.name = "uttm.BufferObject",
	.basicsize = sizeof(struct uttm_py_bo),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = bo_slots,
};
