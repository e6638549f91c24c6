// SPDX-License-Identifier: MIT
/*
 * uttm.Mapping: a pinned buffer object's bytes, exported through the
 * buffer protocol.
 *
 * A view must never outlive the memory it points at: numpy arrays made
 * on an mmap that is then closed crash the interpreter.  Here the pin is
 * what keeps the pages in place, and it is held for as long as anything
 * can reach them: until the mapping is closed and its last export (a
 * memoryview, a numpy array, anything holding a Py_buffer) is released.
 * A mapping closed with exports alive says so with a ResourceWarning,
 * since the object then stays unreclaimable for longer than the with
 * block; a closed mapping refuses new exports with BufferError.
 *
 * The pin, not the object's lock, is held meanwhile, as a kernel driver
 * keeps a pinned buffer mapped: the lock is taken only around validate,
 * pin and unpin, so no thread ever holds it while running Python code.
 */
#include "uttm_py.h"

static struct uttm_py_bo *mapping_bo(struct uttm_py_mapping *self)
{
	return (struct uttm_py_bo *)self->bo;
}

static void drop_pin(struct uttm_py_mapping *self)
{
	if (!self->pinned)
		return;
	self->pinned = false;
	uttm_py_unpin(mapping_bo(self)->bo);
}

static void mapping_dealloc(struct uttm_py_mapping *self)
{
	drop_pin(self);
	Py_XDECREF(self->bo);
	uttm_py_free((PyObject *)self);
}

static int mapping_getbuffer(struct uttm_py_mapping *self, Py_buffer *view,
			     int flags)
{
	if (!self->open) {
		PyErr_SetString(PyExc_BufferError, "the mapping is closed");
		view->obj = NULL;
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)self, self->addr, self->size,
			      0, flags))
		return -1;
	self->exports++;
	return 0;
}

static void mapping_releasebuffer(struct uttm_py_mapping *self,
				  Py_buffer *view)
{
	if (!--self->exports && !self->open)
		drop_pin(self);
}

static PyObject *mapping_close(struct uttm_py_mapping *self, PyObject *unused)
{
	if (!self->open)
		Py_RETURN_NONE;
	self->open = false;
	if (!self->exports) {
		drop_pin(self);
		Py_RETURN_NONE;
	}
	if (PyErr_WarnFormat(PyExc_ResourceWarning, 1,
			     "mapping closed with %zd views alive: the buffer "
			     "object stays pinned until they are released",
			     self->exports))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *mapping_enter(struct uttm_py_mapping *self, PyObject *unused)
{
	if (!self->open) {
		PyErr_SetString(PyExc_ValueError, "the mapping is closed");
		return NULL;
	}
	return Py_NewRef((PyObject *)self);
}

static PyObject *mapping_exit(struct uttm_py_mapping *self, PyObject *args)
{
	return mapping_close(self, NULL);
}

static PyObject *mapping_closed(struct uttm_py_mapping *self, void *closure)
{
	return PyBool_FromLong(!self->open);
}

static PyObject *mapping_purged(struct uttm_py_mapping *self, void *closure)
{
	return PyBool_FromLong(self->purged);
}

static PyObject *mapping_restored(struct uttm_py_mapping *self, void *closure)
{
	return PyBool_FromLong(self->restored);
}

static PyObject *mapping_bo_get(struct uttm_py_mapping *self, void *closure)
{
	return Py_NewRef(self->bo);
}

static Py_ssize_t mapping_len(struct uttm_py_mapping *self)
{
	return self->size;
}

static PyMethodDef mapping_methods[] = {
	{ "close", (PyCFunction)mapping_close, METH_NOARGS,
	  "close()\n--\n\n"
	  "End the mapping: the object is unpinned, and may be reclaimed,\n"
	  "once the views made on it are released too.  A second call does\n"
	  "nothing." },
	{ "__enter__", (PyCFunction)mapping_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)mapping_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef mapping_getset[] = {
	{ "closed", (getter)mapping_closed, NULL,
	  "Whether close() was called.", NULL },
	{ "purged", (getter)mapping_purged, NULL,
	  "Whether the content was dropped (purged) since the object was\n"
	  "last mapped: it reads as zeros and must be recomputed.",
	  NULL },
	{ "restored", (getter)mapping_restored, NULL,
	  "Whether the content had to be brought back from the store.",
	  NULL },
	{ "bo", (getter)mapping_bo_get, NULL, "The mapped buffer object.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot mapping_slots[] = {
	{ Py_tp_doc, "The bytes of a pinned BufferObject, made by\n"
		     "BufferObject.map(): a writable buffer, so\n"
		     "memoryview(m) and numpy.frombuffer(m, dtype=...) see\n"
		     "the object's memory without a copy.  A context\n"
		     "manager: the with block's end closes it." },
	{ Py_tp_dealloc, mapping_dealloc },
	{ Py_bf_getbuffer, mapping_getbuffer },
	{ Py_bf_releasebuffer, mapping_releasebuffer },
	{ Py_sq_length, mapping_len },
	{ Py_tp_methods, mapping_methods },
	{ Py_tp_getset, mapping_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_mapping_spec = {
	.name = "uttm.Mapping",
	.basicsize = sizeof(struct uttm_py_mapping),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = mapping_slots,
};
