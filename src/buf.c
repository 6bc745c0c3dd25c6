#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Makes room for n more bytes plus a NUL; returns 0 on failure. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t	 want, ncap;
	char	*p;

	if (b->oom)
		return 0;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return 0;
	}
	want = b->len + n + 1;
	if (want <= b->cap)
		return 1;
	if (b->limit > 0 && want > b->limit + 1) {
		b->oom = b->over = 1;
		return 0;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap *= 2;
	if (b->limit > 0 && ncap > b->limit + 1)
		ncap = b->limit + 1;	/* the inline appends stay inside */
	if ((p = realloc(b->data, ncap)) == NULL) {
		b->oom = 1;
		return 0;
	}
	b->data = p;
	b->cap = ncap;
	return 1;
}

int
buf_reserve(struct buf *b, size_t n)
{
	return buf_grow(b, n) ? 0 : -1;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = b->over = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	size_t	 limit = b->limit;

	free(b->data);
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void
buf_add_slow(struct buf *b, const void *p, size_t n)
{
	if (!buf_grow(b, n))
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_int(struct buf *b, int64_t v)
{
	char		 tmp[24], *p = tmp + sizeof(tmp);
	uint64_t	 u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
buf_json_str(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, run;
	unsigned char c;
	char	 esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	buf_putc(b, '"');
	for (i = 0, run = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;	/* the common case: copied in runs */
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':  buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, s + run, len - run);
	buf_putc(b, '"');
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_byte(const char *s)
{
	int	 hi, lo;

	if ((hi = hex_digit(s[0])) < 0 || (lo = hex_digit(s[1])) < 0)
		return -1;
	return hi << 4 | lo;
}

int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t	 i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (n > len - i - 1)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}
