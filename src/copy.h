/*
 * copy: backfillctl copy --from DB --to DB. Copies one database into an
 * empty one through the store interface (so either side may be SQLite
 * or PostgreSQL): pipelines, backfills with their ids and versions,
 * pipeline runs with their statuses and attempts, API keys and tokens;
 * then compares the counts of both sides before committing.
 */
#ifndef COPY_H
#define COPY_H

/* Copies from into to (created when missing, and it must be empty),
 * in one transaction on each side: from is read in one snapshot, to
 * gets everything or nothing. Prints a summary on stdout. Returns 0, or
 * 1 after printing a one-line reason on stderr (backfillctl's exit
 * status). */
int	 ctl_copy(const char *from, const char *to);

/* backfillctl backup FILE for a database that has no file to copy
 * (PostgreSQL): the same copy, from one snapshot, into a new SQLite
 * file, which must not exist yet. Returns as ctl_copy. */
int	 ctl_backup(const char *from, const char *path);

#endif
