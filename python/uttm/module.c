// SPDX-License-Identifier: MIT
/*
 * The uttm extension module: its types, its state, and what every file
 * of it shares: errors from negative errnos, size arguments in bytes or
 * in human units, counters as dicts, text written to a FILE * as a str.
 *
 * Written against the stable ABI of CPython 3.11 (Py_LIMITED_API), so one
 * build serves every interpreter from 3.11 on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uttm_py.h"

struct uttm_py_state *uttm_py_state_of(PyObject *self)
{
	return PyModule_GetState(PyType_GetModule(Py_TYPE(self)));
}

/* Raises the OSError subclass Python picks for @err. */
static PyObject *os_error(int err, const char *what, PyObject *path)
{
	PyObject *msg, *exc;
	char buf[128];

	msg = PyUnicode_FromFormat("%s (%s)", strerror_r(err, buf, sizeof(buf)),
				   what);
	if (!msg)
		return NULL;
	exc = path ? PyObject_CallFunction(PyExc_OSError, "iOO", err, msg,
					   path) :
		     PyObject_CallFunction(PyExc_OSError, "iO", err, msg);
	Py_DECREF(msg);
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

/*
 * -EINVAL from the library means it refused an argument the module let
 * through: a ValueError, as for the arguments the module checks itself.
 * Every other errno is an OSError, which picks its subclass from the
 * errno (InterruptedError, FileNotFoundError, PermissionError...).
 */
PyObject *uttm_py_error_path(int err, const char *what, PyObject *path)
{
	PyObject *name;

	if (err == -EINVAL) {
		PyErr_Format(PyExc_ValueError, "%s: invalid argument", what);
		return NULL;
	}
	if (!path || !PyBytes_Check(path))
		return os_error(-err, what, path);
	name = PyUnicode_DecodeFSDefault(PyBytes_AsString(path));
	if (name) {
		os_error(-err, what, name);
		Py_DECREF(name);
	}
	return NULL;
}

PyObject *uttm_py_error(int err, const char *what)
{
	return uttm_py_error_path(err, what, NULL);
}

/* Whether the integer @index is below zero: 1, 0, or -1 on error. */
static int is_negative(PyObject *index)
{
	PyObject *zero = PyLong_FromLong(0);
	int ret;

	if (!zero)
		return -1;
	ret = PyObject_RichCompareBool(index, zero, Py_LT);
	Py_DECREF(zero);
	return ret;
}

static int to_u64(PyObject *arg, uint64_t *out, const char *what)
{
	unsigned long long v;
	PyObject *index;
	int negative;

	if (PyBool_Check(arg)) {
		PyErr_Format(PyExc_TypeError, "%s must be an int, not bool",
			     what);
		return 0;
	}
	index = PyNumber_Index(arg);
	if (!index)
		return 0;
	negative = is_negative(index);
	if (negative) {
		if (negative > 0)
			PyErr_Format(PyExc_ValueError,
				     "%s must not be negative", what);
		Py_DECREF(index);
		return 0;
	}
	v = PyLong_AsUnsignedLongLong(index);
	Py_DECREF(index);
	if (v == (unsigned long long)-1 && PyErr_Occurred()) {
		if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
			PyErr_Clear();
			PyErr_Format(PyExc_ValueError,
				     "%s does not fit in 64 bits", what);
		}
		return 0;
	}
	*out = v;
	return 1;
}

/*
 * Sizes are ints in bytes or strings in human units ("4M", "1.5GiB"),
 * read by uttm._units as util-linux reads them, so "256M" means the same
 * here as to `uttm run --budget`.
 */
int uttm_py_size(PyObject *arg, void *out)
{
	PyObject *units, *bytes;
	int ok;

	if (!PyUnicode_Check(arg))
		return to_u64(arg, out, "a size");
	units = PyImport_ImportModule("uttm._units");
	if (!units)
		return 0;
	bytes = PyObject_CallMethod(units, "parse_size", "O", arg);
	Py_DECREF(units);
	if (!bytes)
		return 0;
	ok = to_u64(bytes, out, "a size");
	Py_DECREF(bytes);
	return ok;
}

/* A file system path, or None; as PyUnicode_FSConverter, bytes out. */
int uttm_py_path(PyObject *arg, void *out)
{
	if (arg == Py_None) {
		*(PyObject **)out = NULL;
		return 1;
	}
	return PyUnicode_FSConverter(arg, out);
}

int uttm_py_pages(PyObject *arg, void *out)
{
	uint64_t pages;

	if (!to_u64(arg, &pages, "a number of pages"))
		return 0;
	*(unsigned long *)out = (unsigned long)pages;
	return 1;
}

int uttm_py_choice(PyObject *arg, const char *what,
		   const char *const *names, size_t count)
{
	char list[256] = "";
	const char *name;
	size_t len = 0;

	if (!PyUnicode_Check(arg)) {
		PyErr_Format(PyExc_TypeError, "%s is a str", what);
		return -1;
	}
	name = PyUnicode_AsUTF8AndSize(arg, NULL);
	if (!name)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	for (size_t i = 0; i < count && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					!i ? "" : i + 1 < count ? ", " : " or ",
					names[i]);
	PyErr_Format(PyExc_ValueError, "unknown %s %R: %s", what, arg, list);
	return -1;
}

PyObject *uttm_py_dict_add(PyObject *dict, const char *name, PyObject *value)
{
	if (dict && (!value || PyDict_SetItemString(dict, name, value)))
		Py_CLEAR(dict);
	Py_XDECREF(value);
	return dict;
}

PyObject *uttm_py_counters(const struct uttm_py_counter *counters,
			   size_t count)
{
	PyObject *dict = PyDict_New();

	for (size_t i = 0; dict && i < count; i++)
		dict = uttm_py_dict_add(
			dict, counters[i].name,
			PyLong_FromUnsignedLongLong(counters[i].value));
	return dict;
}

PyObject *uttm_py_capture(int (*write)(void *obj, FILE *out), void *obj)
{
	PyObject *text = NULL;
	size_t len = 0;
	char *buf = NULL;
	FILE *out;
	int ret;

	out = open_memstream(&buf, &len);
	if (!out)
		return PyErr_NoMemory();
	Py_BEGIN_ALLOW_THREADS
	ret = write(obj, out);
	if (fclose(out) && !ret)
		ret = -EIO;
	Py_END_ALLOW_THREADS
	if (ret)
		uttm_py_error(ret, "writing the figures");
	else
		text = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "replace");
	free(buf);
	return text;
}

void *uttm_py_alloc(PyTypeObject *type)
{
	allocfunc tp_alloc = PyType_GetSlot(type, Py_tp_alloc);

	return tp_alloc(type, 0);
}

void uttm_py_free(PyObject *self)
{
	PyTypeObject *type = Py_TYPE(self);
	freefunc tp_free = PyType_GetSlot(type, Py_tp_free);

	tp_free(self);
	Py_DECREF(type);
}

bool uttm_py_check(PyObject *obj, PyTypeObject *type, const char *what)
{
	PyObject *want, *got;

	if (PyObject_TypeCheck(obj, type))
		return true;
	want = PyType_GetName(type);
	got = PyType_GetName(Py_TYPE(obj));
	if (want && got)
		PyErr_Format(PyExc_TypeError, "%s must be a uttm.%U, not %U",
			     what, want, got);
	Py_XDECREF(want);
	Py_XDECREF(got);
	return false;
}

/* Each type, where the state keeps it, and whether it is a store's. */
static const struct {
	PyType_Spec *spec;
	size_t offset;
	bool store;
} types[] = {
#define TYPE(name, is_store)                                                   \
	{ &uttm_py_##name##_spec, offsetof(struct uttm_py_state, name##_type), \
	  is_store }
	TYPE(context, false),
	TYPE(shrinker, false),
	TYPE(fault, false),
	TYPE(arena, false),
	TYPE(store, false),
	TYPE(shmem_store, true),
	TYPE(insert_store, true),
	TYPE(file_store, true),
	TYPE(compressed_store, true),
	TYPE(redis_store, true),
	TYPE(device, false),
	TYPE(bo, false),
	TYPE(mapping, false),
	TYPE(monitor, false),
#undef TYPE
};

static PyTypeObject **state_type(struct uttm_py_state *st, size_t i)
{
	return (PyTypeObject **)((char *)st + types[i].offset);
}

static int main_thread_ident(unsigned long *ident)
{
	PyObject *threading, *main, *value;

	threading = PyImport_ImportModule("threading");
	if (!threading)
		return -1;
	main = PyObject_CallMethod(threading, "main_thread", NULL);
	Py_DECREF(threading);
	if (!main)
		return -1;
	value = PyObject_GetAttrString(main, "ident");
	Py_DECREF(main);
	if (!value)
		return -1;
	*ident = PyLong_AsUnsignedLong(value);
	Py_DECREF(value);
	return PyErr_Occurred() ? -1 : 0;
}

static int module_exec(PyObject *module)
{
	struct uttm_py_state *st = PyModule_GetState(module);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		PyObject *base = types[i].store ? (PyObject *)st->store_type :
						  NULL;
		PyObject *type;

		type = PyType_FromModuleAndSpec(module, types[i].spec, base);
		if (!type)
			return -1;
		*state_type(st, i) = (PyTypeObject *)type;
		if (PyModule_AddType(module, (PyTypeObject *)type))
			return -1;
	}
	if (PyModule_AddStringConstant(module, "__version__", UTTM_VERSION) ||
	    PyModule_AddIntConstant(module, "PAGE_SIZE", UTTM_PAGE_SIZE))
		return -1;
	return main_thread_ident(&st->main_thread);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
	struct uttm_py_state *st = PyModule_GetState(module);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		Py_VISIT(*state_type(st, i));
	return 0;
}

static int module_clear(PyObject *module)
{
	struct uttm_py_state *st = PyModule_GetState(module);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		Py_CLEAR(*state_type(st, i));
	return 0;
}

static void module_free(void *module)
{
	module_clear(module);
}

static PyModuleDef_Slot module_slots[] = {
	{ Py_mod_exec, module_exec },
	{ 0, NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "uttm._uttm",
	.m_doc = "The C part of uttm; import uttm, which re-exports it.",
	.m_size = sizeof(struct uttm_py_state),
	.m_methods = uttm_py_functions,
	.m_slots = module_slots,
	.m_traverse = module_traverse,
	.m_clear = module_clear,
	.m_free = module_free,
};

PyMODINIT_FUNC PyInit__uttm(void)
{
	return PyModuleDef_Init(&module_def);
}
