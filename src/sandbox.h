/*
 * sandbox: after start-up a worker gives up what serving does not need:
 * no-new-privileges, then a seccomp allow-list (libseccomp) whose
 * default is to kill the process. `sandbox = off` in the conf skips it.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

/* Applies the sandbox to the calling process; with_network also allows
 * what libpq needs to (re)connect to a PostgreSQL database. Returns 0,
 * or -1 with a reason on stderr (the caller should not serve
 * unsandboxed when the conf asked for it). */
int	sandbox_enter(int with_network);

#endif
