/* SPDX-License-Identifier: MIT */
/*
 * The Python module's private header: the objects, the module state and
 * the helpers its files share.
 *
 * Lifetimes follow the C API's rules through Python references: an
 * object keeps alive everything its C counterpart needs (a buffer object
 * its device, a device its context, arena and store, a mapping its
 * buffer object), so Python's reference counting frees them in an order
 * the library accepts, whatever order the program drops them in.
 *
 * The GIL: every call that may sleep runs with the GIL released, and no
 * uttm lock is ever held while the GIL is wanted.  A thread holding the
 * GIL may therefore wait for a uttm lock (another thread holding it will
 * let it go without needing the GIL), and nothing can deadlock between
 * the two.
 */
#ifndef UTTM_PY_H
#define UTTM_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stdint.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

PyMODINIT_FUNC PyInit__uttm(void);

/* The module's state: its types, and the main thread's identifier. */
struct uttm_py_state {
	PyTypeObject *context_type;
	PyTypeObject *shrinker_type;
	PyTypeObject *fault_type;
	PyTypeObject *arena_type;
	PyTypeObject *store_type;
	PyTypeObject *shmem_store_type;
	PyTypeObject *insert_store_type;
	PyTypeObject *file_store_type;
	PyTypeObject *compressed_store_type;
	PyTypeObject *redis_store_type;
	PyTypeObject *device_type;
	PyTypeObject *bo_type;
	PyTypeObject *mapping_type;
	PyTypeObject *monitor_type;
	unsigned long main_thread;
};

struct uttm_py_context {
	PyObject_HEAD
	struct uttm_context *ctx;
};

struct uttm_py_shrinker {
	PyObject_HEAD
	PyObject *context;
};

struct uttm_py_fault {
	PyObject_HEAD
	struct uttm_fault *fault;
};

struct uttm_py_arena {
	PyObject_HEAD
	struct uttm_arena *arena;
	PyObject *fault;
};

/*
 * A store.  @arena is the insert store's arena, which must outlive it;
 * @lower the compressed store's lower store; @fault its injector.  Any
 * may be NULL.
 */
struct uttm_py_store {
	PyObject_HEAD
	struct uttm_backup *backup;
	PyObject *arena;
	PyObject *lower;
	PyObject *fault;
};

struct uttm_py_device {
	PyObject_HEAD
	struct uttm_device *dev;
	PyObject *context;
	PyObject *arena;
	PyObject *store;
};

/*
 * A buffer object.  @purged: a validate found the content dropped and no
 * mapping has reported it yet; read and written under the object's lock.
 */
struct uttm_py_bo {
	PyObject_HEAD
	struct uttm_bo *bo;
	PyObject *device;
	PyObject *weakrefs;
	bool purged;
};

/*
 * A CPU mapping of a buffer object: while it holds @pinned, the pages
 * stay where @addr points.  It holds it from bo.map() until it is closed
 * and its last buffer export (memoryview, numpy array) is released.
 */
struct uttm_py_mapping {
	PyObject_HEAD
	PyObject *bo;
	void *addr;
	Py_ssize_t size;
	Py_ssize_t exports;
	bool open;
	bool pinned;
	bool purged;
	bool restored;
};

struct uttm_py_monitor {
	PyObject_HEAD
	struct uttm_monitor *monitor;
	PyObject *context;
};

struct uttm_py_state *uttm_py_state_of(PyObject *self);

/* The fault= argument of a constructor: None or a FaultInjector. */
int uttm_py_fault_arg(PyObject *self, PyObject *arg, struct uttm_fault **out);

/*
 * Raising errors from negative errnos; @path (str, or bytes from
 * uttm_py_path()) names the file of an OSError.
 */
PyObject *uttm_py_error(int err, const char *what);
PyObject *uttm_py_error_path(int err, const char *what, PyObject *path);

/* Argument converters for PyArg_ParseTupleAndKeywords' "O&". */
int uttm_py_size(PyObject *arg, void *out);
int uttm_py_pages(PyObject *arg, void *out);
int uttm_py_path(PyObject *arg, void *out);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The index of the str @arg among @names, or -1 with a TypeError or a
 * ValueError naming the argument (@what) and the choices.
 */
int uttm_py_choice(PyObject *arg, const char *what,
		   const char *const *names, size_t count);

/*
 * Adds @value (a new reference, taken; or NULL after an error) to @dict
 * under @name.  Returns @dict, or NULL once anything failed.
 */
PyObject *uttm_py_dict_add(PyObject *dict, const char *name, PyObject *value);

/* A dict from a list of (name, value) pairs of unsigned counters. */
struct uttm_py_counter {
	const char *name;
	uint64_t value;
};
PyObject *uttm_py_counters(const struct uttm_py_counter *counters,
			   size_t count);

/* What a function writing to a FILE * wrote, as a str. */
PyObject *uttm_py_capture(int (*write)(void *obj, FILE *out), void *obj);

/* A new object of @type, zeroed; and the deallocation every type ends with. */
void *uttm_py_alloc(PyTypeObject *type);
void uttm_py_free(PyObject *self);

/*
 * Making a buffer object resident: locked, validated and, with @map,
 * mapped at @addr and pinned; unlocked.  @lost: for a validate, the
 * content was dropped since the last validate; for a map, since the last
 * map.  @restored: it came back from the store.  On the main thread a
 * restore can be stopped by a signal whose handler raises
 * (KeyboardInterrupt), and resumes at the next call.  @bo and @purged
 * are filled in from the object.  0, or -1 with an exception set.
 */
struct uttm_py_validate {
	struct uttm_bo *bo;
	bool *purged;
	bool map;
	void *addr;
	bool lost;
	bool restored;
};
int uttm_py_validate(struct uttm_py_bo *bo, struct uttm_py_validate *v);
/* Undoes the pin of a mapping. */
void uttm_py_unpin(struct uttm_bo *bo);

/* The module's functions. */
extern PyMethodDef uttm_py_functions[];

/* The types' specs, made into types by the module's exec. */
extern PyType_Spec uttm_py_context_spec;
extern PyType_Spec uttm_py_shrinker_spec;
extern PyType_Spec uttm_py_fault_spec;
extern PyType_Spec uttm_py_arena_spec;
extern PyType_Spec uttm_py_store_spec;
extern PyType_Spec uttm_py_shmem_store_spec;
extern PyType_Spec uttm_py_insert_store_spec;
extern PyType_Spec uttm_py_file_store_spec;
extern PyType_Spec uttm_py_compressed_store_spec;
extern PyType_Spec uttm_py_redis_store_spec;
extern PyType_Spec uttm_py_device_spec;
extern PyType_Spec uttm_py_bo_spec;
extern PyType_Spec uttm_py_mapping_spec;
extern PyType_Spec uttm_py_monitor_spec;

/* Whether @obj is an instance of the module's type @type, else TypeError. */
bool uttm_py_check(PyObject *obj, PyTypeObject *type, const char *what);

#endif /* UTTM_PY_H */
