/*
 * buf: a growable byte buffer, and the JSON string writer built on it.
 * Reused across requests: buf_reset() keeps the allocation.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*data;	/* always NUL-terminated when len > 0 or cap > 0 */
	size_t	 len;
	size_t	 cap;
	int	 oom;	/* set once an allocation failed; later appends are dropped */
	size_t	 limit;	/* most bytes it may hold; 0: no limit */
	int	 over;	/* set (with oom) once an append would pass limit */
};

/* Makes room for n more bytes and a NUL. Returns 0, or -1 (oom set). */
int	buf_reserve(struct buf *, size_t);
/* Empties it, keeping its memory (and limit); clears oom and over. */
void	buf_reset(struct buf *);
/* Frees its memory; the limit stays. */
void	buf_free(struct buf *);
void	buf_add_slow(struct buf *, const void *, size_t);
void	buf_puts(struct buf *, const char *);
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_int(struct buf *, int64_t);
/* Appends p[0..n). The common case, room to spare, stays inline. */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n < b->cap && n > 0) {
		__builtin_memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else
		buf_add_slow(b, p, n);
}

static inline void
buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else
		buf_add_slow(b, &c, 1);
}

/* Appends s[0..len) as a quoted JSON string, escaping as RFC 8259 asks. */
void	buf_json_str(struct buf *, const char *, size_t);

/* Returns 1 when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF), else 0. */
int	utf8_valid(const char *, size_t);
/* The byte that the two hex digits at s spell (either case), or -1 when
 * they are not two hex digits (s[1] is not read when s[0] is not one). */
int	hex_byte(const char *s);

#endif
