// SPDX-License-Identifier: MIT
/*
 * uttm.Monitor: the thread that listens to the kernel's memory-pressure
 * signals and reclaims from a context in proportion (uttm/shrinker.h).
 */
#include "uttm_py.h"

static int source_converter(PyObject *arg, void *out)
{
	static const enum uttm_pressure_source sources[] = {
		UTTM_PRESSURE_AUTO,	  UTTM_PRESSURE_PSI_CGROUP,
		UTTM_PRESSURE_PSI_SYSTEM, UTTM_PRESSURE_CGROUP_V1,
		UTTM_PRESSURE_POLL,
	};
	const char *names[ARRAY_SIZE(sources)];
	int i;

	for (size_t n = 0; n < ARRAY_SIZE(sources); n++)
		names[n] = uttm_pressure_source_name(sources[n]);
	i = uttm_py_choice(arg, "pressure source", names, ARRAY_SIZE(names));
	if (i < 0)
		return 0;
	*(enum uttm_pressure_source *)out = sources[i];
	return 1;
}

static PyObject *monitor_new(PyTypeObject *type, PyObject *args,
			     PyObject *kwargs)
{
	static char *keywords[] = { "context", "source", "psi_stall_us",
				    "psi_window_us", "poll_ms", "low_available",
				    "min_scan_pages", "cgroup_dir", NULL };
	struct uttm_py_state *st = PyModule_GetState(PyType_GetModule(type));
	struct uttm_monitor_params params = { .source = UTTM_PRESSURE_AUTO };
	PyObject *context, *cgroup_dir = NULL;
	struct uttm_py_monitor *self;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs,
					 "O|$O&IIIO&O&O&:Monitor", keywords,
					 &context, source_converter,
					 &params.source, &params.psi_stall_us,
					 &params.psi_window_us, &params.poll_ms,
					 uttm_py_size,
					 &params.low_available_bytes,
					 uttm_py_pages, &params.min_scan_pages,
					 uttm_py_path, &cgroup_dir))
		return NULL;
	if (!uttm_py_check(context, st->context_type, "context")) {
		Py_XDECREF(cgroup_dir);
		return NULL;
	}
	self = uttm_py_alloc(type);
	if (!self) {
		Py_XDECREF(cgroup_dir);
		return NULL;
	}
	self->context = Py_NewRef(context);
	params.cgroup_dir = cgroup_dir ? PyBytes_AsString(cgroup_dir) : NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = uttm_monitor_start(((struct uttm_py_context *)context)->ctx,
				 &params, &self->monitor);
	Py_END_ALLOW_THREADS
	if (ret) {
		Py_DECREF(self);
		self = (struct uttm_py_monitor *)uttm_py_error_path(
			ret, "starting the pressure monitor", cgroup_dir);
	}
	Py_XDECREF(cgroup_dir);
	return (PyObject *)self;
}

static void stop(struct uttm_py_monitor *self)
{
	struct uttm_monitor *monitor = self->monitor;

	self->monitor = NULL;
	Py_BEGIN_ALLOW_THREADS
	uttm_monitor_stop(monitor);
	Py_END_ALLOW_THREADS
}

static void monitor_dealloc(struct uttm_py_monitor *self)
{
	stop(self);
	Py_XDECREF(self->context);
	uttm_py_free((PyObject *)self);
}

static int check_running(struct uttm_py_monitor *self)
{
	if (self->monitor)
		return 0;
	PyErr_SetString(PyExc_ValueError, "the monitor is stopped");
	return -1;
}

static PyObject *monitor_stop(struct uttm_py_monitor *self, PyObject *unused)
{
	stop(self);
	Py_RETURN_NONE;
}

static PyObject *monitor_enter(struct uttm_py_monitor *self, PyObject *unused)
{
	return check_running(self) ? NULL : Py_NewRef((PyObject *)self);
}

static PyObject *monitor_exit(struct uttm_py_monitor *self, PyObject *args)
{
	return monitor_stop(self, NULL);
}

static PyObject *monitor_source(struct uttm_py_monitor *self, void *closure)
{
	if (check_running(self))
		return NULL;
	return PyUnicode_FromString(
		uttm_pressure_source_name(uttm_monitor_source(self->monitor)));
}

static PyObject *stats_dict(const struct uttm_monitor_stats *s)
{
	const struct uttm_py_counter counters[] = {
		{ "events", s->events },
		{ "pages_freed", s->pages_freed },
	};
	PyObject *dict = uttm_py_counters(counters, ARRAY_SIZE(counters));

	return uttm_py_dict_add(dict, "last_pressure",
				PyFloat_FromDouble(s->last_pressure));
}

static PyObject *monitor_stats(struct uttm_py_monitor *self, void *closure)
{
	struct uttm_monitor_stats s;

	if (check_running(self))
		return NULL;
	uttm_monitor_stats(self->monitor, &s);
	return stats_dict(&s);
}

static PyMethodDef monitor_methods[] = {
	{ "stop", (PyCFunction)monitor_stop, METH_NOARGS,
	  "stop()\n--\n\n"
	  "Stop listening, waiting for a reclaim under way to end.  A second\n"
	  "call does nothing." },
	{ "__enter__", (PyCFunction)monitor_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)monitor_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef monitor_getset[] = {
	{ "source", (getter)monitor_source, NULL,
	  "Where it listens: 'psi-cgroup', 'psi-system', 'cgroup-v1' or\n"
	  "'poll'.",
	  NULL },
	{ "stats", (getter)monitor_stats, NULL,
	  "What it did, a dict: events, pages_freed, last_pressure (0 to 1).",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot monitor_slots[] = {
	{ Py_tp_doc, "Monitor(context, *, source='auto', psi_stall_us=0, "
		     "psi_window_us=0, poll_ms=0, low_available=0, "
		     "min_scan_pages=0, cgroup_dir=None)\n--\n\n"
		     "A thread that listens to the kernel's memory-pressure\n"
		     "signals (PSI, cgroup v1 events, or polling) and\n"
		     "reclaims from the context in proportion: pooled pages,\n"
		     "then objects.  0 keeps the library's default for each\n"
		     "figure (see uttm/shrinker.h).  A context manager: the\n"
		     "with block's end stops it; so does stop()." },
	{ Py_tp_new, monitor_new },
	{ Py_tp_dealloc, monitor_dealloc },
	{ Py_tp_methods, monitor_methods },
	{ Py_tp_getset, monitor_getset },
	{ 0, NULL },
};

PyType_Spec uttm_py_monitor_spec = {
	.name = "uttm.Monitor",
	.basicsize = sizeof(struct uttm_py_monitor),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = monitor_slots,
};
