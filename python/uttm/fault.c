// SPDX-License-Identifier: MIT
/*
 * uttm.FaultInjector: failures on demand (uttm/fault.h), handed to arenas
 * and stores, so that a program's own tests can see what a failed page
 * allocation, backup or restore does to it.
 */
#include "uttm_py.h"

static const char *const point_names[] = {
	[UTTM_FAULT_PAGE_ALLOC] = "alloc",
	[UTTM_FAULT_BACKUP] = "backup",
	[UTTM_FAULT_RESTORE] = "restore",
	[UTTM_FAULT_INSERT] = "insert",
};

static int point_converter(PyObject *arg, void *out)
{
	int i = uttm_py_choice(arg, "fault point", point_names,
			       ARRAY_SIZE(point_names));

	if (i < 0)
		return 0;
	*(enum uttm_fault_point *)out = i;
	return 1;
}

static int arm(struct uttm_py_fault *self, const char *spec)
{
	if (uttm_fault_parse(self->fault, spec)) {
		PyErr_Format(PyExc_ValueError, "malformed fault rules %s",
			     spec);
		return -1;
	}
	return 0;
}

static PyObject *fault_new(PyTypeObject *type, PyObject *args,
			   PyObject *kwargs)
{
	static char *keywords[] = { "rules", NULL };
	struct uttm_py_fault *self;
	const char *spec = NULL;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z:FaultInjector",
					 keywords, &spec))
		return NULL;
	self = uttm_py_alloc(type);
	if (!self)
		return NULL;
	ret = uttm_fault_create(&self->fault);
	if (ret) {
		Py_DECREF(self);
		return uttm_py_error(ret, "creating a fault injector");
	}
	if (spec && arm(self, spec)) {
		Py_DECREF(self);
		return NULL;
	}
	return (PyObject *)self;
}

static void fault_dealloc(struct uttm_py_fault *self)
{
	uttm_fault_destroy(self->fault);
	uttm_py_free((PyObject *)self);
}

static PyObject *fault_arm(struct uttm_py_fault *self, PyObject *arg)
{
	const char *spec;

	if (!PyUnicode_Check(arg)) {
		PyErr_SetString(PyExc_TypeError, "fault rules are a str");
		return NULL;
	}
	spec = PyUnicode_AsUTF8AndSize(arg, NULL);
	if (!spec || arm(self, spec))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *fault_disarm(struct uttm_py_fault *self, PyObject *arg)
{
	enum uttm_fault_point point;

	if (!point_converter(arg, &point))
		return NULL;
	uttm_fault_disarm(self->fault, point);
	Py_RETURN_NONE;
}

static PyObject *fault_calls(struct uttm_py_fault *self, PyObject *arg)
{
	enum uttm_fault_point point;

	if (!point_converter(arg, &point))
		return NULL;
	return PyLong_FromUnsignedLong(uttm_fault_calls(self->fault, point));
}

static PyMethodDef fault_methods[] = {
	{ "arm", (PyCFunction)fault_arm, METH_O,
	  "arm(rules)\n--\n\n"
	  "Arm points with rules in UTTM_FAULT's syntax, e.g.\n"
	  "'restore:nth=3,times=2,err=EIO'.  Arming resets a point's count." },
	{ "disarm", (PyCFunction)fault_disarm, METH_O,
	  "disarm(point)\n--\n\n"
	  "Stop failing calls through point: 'alloc', 'backup', 'restore'\n"
	  "or 'insert'." },
	{ "calls", (PyCFunction)fault_calls, METH_O,
	  "calls(point)\n--\n\n"
	  "Calls counted through point since it was armed." },
	{ NULL, NULL, 0, NULL },
};

static PyType_Slot fault_slots[] = {
	{ Py_tp_doc, "FaultInjector(rules=None)\n--\n\n"
		     "Fault points armed from rules in UTTM_FAULT's syntax\n"
		     "(see uttm/fault.h), e.g.\n"
		     "'alloc:nth=5;restore:nth=3,times=2,err=EINTR'.  Hand\n"
		     "it to an Arena or a store: their page allocations,\n"
		     "backups and restores then fail as the rules say." },
	{ Py_tp_new, fault_new },
	{ Py_tp_dealloc, fault_dealloc },
	{ Py_tp_methods, fault_methods },
	{ 0, NULL },
};

PyType_Spec uttm_py_fault_spec = {
	.name = "uttm.FaultInjector",
	.basicsize = sizeof(struct uttm_py_fault),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = fault_slots,
};
