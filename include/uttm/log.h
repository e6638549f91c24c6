/* SPDX-License-Identifier: MIT */
/*
 * uttm/log.h - where the library's messages go
 *
 * uttm says very little on its own: a warning when it catches API misuse
 * (it then refuses the call rather than crash the caller), and a note
 * when it works around the system (a budget lowered to the memory the
 * process may use, a store that cannot do what was asked).  By default
 * these go to stderr, one line each, prefixed "uttm: ".  A program that
 * embeds uttm routes them into its own log, or silences them, with
 * uttm_set_log().  The hook is process-wide, as messages of the lower
 * layers belong to no context.
 */
#ifndef UTTM_LOG_H
#define UTTM_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/**
 * enum uttm_log_level - how much a message matters, most first
 * @UTTM_LOG_ERROR: something failed that uttm could not work around.
 * @UTTM_LOG_WARNING: API misuse caught and refused, or a request that
 * could not be met as given.
 * @UTTM_LOG_NOTICE: uttm chose something on the caller's behalf.
 */
enum uttm_log_level {
	UTTM_LOG_ERROR,
	UTTM_LOG_WARNING,
	UTTM_LOG_NOTICE,
};

/**
 * typedef uttm_log_fn - a log hook
 * @level: how much the message matters.
 * @message: one line, without the "uttm: " prefix and without a newline.
 * @data: what was given to uttm_set_log().
 *
 * Called from whatever thread hit the condition, possibly with uttm
 * locks held and from the pressure monitor while memory is short: it must
 * not call back into uttm, and should neither block nor allocate much.
 */
typedef void (*uttm_log_fn)(enum uttm_log_level level, const char *message,
			    void *data);

/**
 * uttm_set_log() - route the library's messages
 * @fn: the hook; uttm_log_stderr() is the default; NULL drops every
 * message.
 * @data: handed to @fn with each message.
 *
 * Context: Any thread. Does not sleep. A message being delivered while
 * the hook changes goes to the old hook or the new one, with its own
 * @data.
 */
void uttm_set_log(uttm_log_fn fn, void *data);

/**
 * uttm_log_stderr() - the default hook: "uttm: MESSAGE" on stderr
 * @level: ignored; every level is printed.
 * @message: the message.
 * @data: ignored.
 *
 * Context: Any thread.
 */
void uttm_log_stderr(enum uttm_log_level level, const char *message,
		     void *data);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_LOG_H */
