#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

/*
 * What a serving worker calls, found with strace -f over the end-to-end
 * suite: the FastCGI socket (accept, read, write, poll, shutdown,
 * close), SQLite (open, pread/pwrite, fcntl locks, fsync, ftruncate,
 * unlink of its -wal/-shm files, fchown of them when run as root, stat),
 * memory (brk, mmap, ...), time and signals (rt_sigtimedwait: a stop
 * asked for), and logging to stderr.
 * Anything else (execve, socket, connect, fork, ptrace, kill, ...) kills
 * the process.
 */
static const int allowed[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(read),
	SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(shutdown), SCMP_SYS(close), SCMP_SYS(getpeername),
	SCMP_SYS(getsockname), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(fcntl),
	SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(fchown), SCMP_SYS(fchmod), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(getcwd), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(sched_yield), SCMP_SYS(getrandom), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* glibc's qsort() asks for the amount of memory (sysconf's
	 * _SC_PHYS_PAGES) before it sorts more than 1 KiB */
	SCMP_SYS(sysinfo),
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer's leak check at exit stops the world with a
	 * tracer (a process of its own: were it killed, the checked one
	 * would spin waiting for it) and reads /proc/self/maps and
	 * /proc/self/task (getdents). It runs when a CGI request exits; a
	 * pool's worker leaves with _exit. */
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace),
	SCMP_SYS(wait4), SCMP_SYS(prctl), SCMP_SYS(sigaltstack),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(getdents),
	SCMP_SYS(getdents64),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(tgkill),
	SCMP_SYS(kill), SCMP_SYS(prlimit64), SCMP_SYS(set_tid_address),
#endif
};

/*
 * With a PostgreSQL database, what libpq needs to reach it (again, after
 * a lost connection): a socket (unix, IPv4 or IPv6 only), connect, send
 * and receive, and what a host name lookup adds (the resolver's
 * sendmmsg, FIONREAD). Found with strace -f over the end-to-end suite
 * against a unix socket and over TCP (gssencmode=disable, the store's
 * default, keeps Kerberos out).
 */
static const int network[] = {
	SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
};
static const int socket_domains[] = { AF_UNIX, AF_INET, AF_INET6 };

int
sandbox_enter(int with_network)
{
	scmp_filter_ctx	 f;
	size_t		 i;
	int		 rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "backfills.fcgi: no_new_privs: %s\n",
		    strerror(errno));
		return -1;
	}
	if ((f = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		fprintf(stderr, "backfills.fcgi: seccomp_init failed\n");
		return -1;
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] >= 0 && (rc = seccomp_rule_add(f,
		    SCMP_ACT_ALLOW, allowed[i], 0)) < 0) {
			fprintf(stderr, "backfills.fcgi: seccomp rule: %s\n",
			    strerror(-rc));
			seccomp_release(f);
			return -1;
		}
	for (i = 0; with_network && i < sizeof(network) / sizeof(network[0]);
	    i++)
		if (network[i] >= 0 && (rc = seccomp_rule_add(f,
		    SCMP_ACT_ALLOW, network[i], 0)) < 0)
			goto fail;
	for (i = 0; with_network &&
	    i < sizeof(socket_domains) / sizeof(socket_domains[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket),
		    1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_domains[i])))
		    < 0)
			goto fail;
	if (with_network && (rc = seccomp_rule_add(f, SCMP_ACT_ALLOW,
	    SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD))) < 0)
		goto fail;
	rc = seccomp_load(f);
	seccomp_release(f);
	if (rc < 0) {
		fprintf(stderr, "backfills.fcgi: seccomp_load: %s\n",
		    strerror(-rc));
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "backfills.fcgi: seccomp rule: %s\n", strerror(-rc));
	seccomp_release(f);
	return -1;
}
