/*
 * src/datetime.h: docs/API.md "Backfills", datetimes. Requests take
 * YYYY-MM-DD, or YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]
 * converted to UTC; anything else (impossible dates included) is
 * refused. Responses are UTC "YYYY-MM-DD HH:MM:SS" with ".ffffff" only
 * when the fraction is not zero.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <time.h>	/* time(): now_is_utc_now only */

#include "datetime.h"
#include "suites.h"

#define US	1000000LL

/* Parses in and formats the result with ' '; asserts it reads as want. */
static void
accepts(const char *in, const char *want)
{
	char	 out[DT_FMT_MAX];
	int64_t	 us = -12345;
	size_t	 n;

	ck_assert_msg(dt_parse(in, strlen(in), &us) == 0,
	    "\"%s\" should be accepted", in);
	n = dt_format(us, ' ', out);
	ck_assert_msg(strcmp(out, want) == 0,
	    "\"%s\" read as \"%s\", want \"%s\"", in, out, want);
	ck_assert_uint_eq(n, strlen(want));
}

static void
refuses(const char *in, size_t len)
{
	int64_t	 us = 777;

	ck_assert_msg(dt_parse(in, len, &us) == -1,
	    "\"%.*s\" should be refused", (int)len, in);
	ck_assert_msg(us == 777, "\"%.*s\": *us written on refusal",
	    (int)len, in);
}

#define REFUSES(s)	refuses((s), strlen(s))

/*
 * Microseconds for a UTC civil time: the test's own oracle, not the
 * timegm() the code uses. Days from 1970-01-01 by the proleptic
 * Gregorian calendar's arithmetic (eras of 400 years; H. Hinnant's
 * days_from_civil), checked against known instants below.
 */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	int64_t	 era, yoe, doy, doe, days;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 24 + h) * 60 + mi) * 60 * US + (int64_t)s * US;
}

START_TEST(oracle_known_instants)
{
	/* Unix times known independently of any calendar code here. */
	ck_assert_int_eq(utc(1970, 1, 1, 0, 0, 0), 0);
	ck_assert_int_eq(utc(1969, 12, 31, 23, 59, 59), -1 * US);
	ck_assert_int_eq(utc(2023, 7, 18, 23, 56, 5), 1689724565LL * US);
	ck_assert_int_eq(utc(2000, 2, 29, 0, 0, 0), 951782400LL * US);
	ck_assert_int_eq(utc(1, 1, 1, 0, 0, 0), -62135596800LL * US);
	ck_assert_int_eq(utc(9999, 12, 31, 23, 59, 59), 253402300799LL * US);
}
END_TEST

START_TEST(date_only_is_midnight)
{
	int64_t	 us;

	ck_assert_int_eq(dt_parse("2023-07-18", 10, &us), 0);
	ck_assert_int_eq(us, utc(2023, 7, 18, 0, 0, 0));
	accepts("2023-07-18", "2023-07-18 00:00:00");
	accepts("1970-01-01", "1970-01-01 00:00:00");
}
END_TEST

START_TEST(space_and_t_separators)
{
	int64_t	 a, b;

	ck_assert_int_eq(dt_parse("2023-07-18 23:56:05", 19, &a), 0);
	ck_assert_int_eq(dt_parse("2023-07-18T23:56:05", 19, &b), 0);
	ck_assert_int_eq(a, b);
	ck_assert_int_eq(a, utc(2023, 7, 18, 23, 56, 5));
	accepts("2023-07-18 23:56:05", "2023-07-18 23:56:05");
	accepts("2023-07-18T23:56:05", "2023-07-18 23:56:05");
	accepts("2023-07-18 00:00:00", "2023-07-18 00:00:00");
	accepts("2023-07-18T23:59:59", "2023-07-18 23:59:59");
}
END_TEST

START_TEST(fractions_one_to_six_digits)
{
	int64_t	 us;

	accepts("2023-07-18 23:56:05.1", "2023-07-18 23:56:05.100000");
	accepts("2023-07-18 23:56:05.12", "2023-07-18 23:56:05.120000");
	accepts("2023-07-18 23:56:05.123", "2023-07-18 23:56:05.123000");
	accepts("2023-07-18 23:56:05.1234", "2023-07-18 23:56:05.123400");
	accepts("2023-07-18 23:56:05.12345", "2023-07-18 23:56:05.123450");
	accepts("2023-07-18T23:56:05.123456", "2023-07-18 23:56:05.123456");
	accepts("2023-07-18 23:56:05.000001", "2023-07-18 23:56:05.000001");
	accepts("2023-07-18 23:56:05.05", "2023-07-18 23:56:05.050000");
	/* A zero fraction is no fraction. */
	accepts("2023-07-18 23:56:05.0", "2023-07-18 23:56:05");
	accepts("2023-07-18 23:56:05.000000", "2023-07-18 23:56:05");
	ck_assert_int_eq(dt_parse("2023-07-18 23:56:05.5", 21, &us), 0);
	ck_assert_int_eq(us, utc(2023, 7, 18, 23, 56, 5) + 500000);
}
END_TEST

START_TEST(zulu)
{
	accepts("2023-07-18 23:56:05Z", "2023-07-18 23:56:05");
	accepts("2023-07-18T23:56:05Z", "2023-07-18 23:56:05");
	accepts("2023-07-18T23:56:05.25Z", "2023-07-18 23:56:05.250000");
}
END_TEST

START_TEST(positive_offset_converted_to_utc)
{
	int64_t	 us;

	accepts("2023-07-18 23:56:05+02:00", "2023-07-18 21:56:05");
	accepts("2023-07-18T23:56:05+00:00", "2023-07-18 23:56:05");
	accepts("2023-07-18T23:56:05+05:45", "2023-07-18 18:11:05");
	accepts("2023-07-18T23:56:05.25+01:00", "2023-07-18 22:56:05.250000");
	accepts("2023-07-18T12:00:00+23:59", "2023-07-17 12:01:00");
	ck_assert_int_eq(dt_parse("2023-07-18T23:56:05+02:00", 25, &us), 0);
	ck_assert_int_eq(us, utc(2023, 7, 18, 21, 56, 5));
}
END_TEST

START_TEST(negative_offset_converted_to_utc)
{
	accepts("2023-07-18 13:56:05-02:00", "2023-07-18 15:56:05");
	accepts("2023-07-18T23:56:05-05:30", "2023-07-19 05:26:05");
	accepts("2023-07-18T23:56:05-00:00", "2023-07-18 23:56:05");
	accepts("2023-07-18T00:00:00-23:59", "2023-07-18 23:59:00");
}
END_TEST

START_TEST(offset_crosses_day_month_year)
{
	/* day */
	accepts("2023-07-18T00:30:00+01:00", "2023-07-17 23:30:00");
	accepts("2023-07-18T23:30:00-01:00", "2023-07-19 00:30:00");
	/* month */
	accepts("2023-01-31T23:00:00-02:00", "2023-02-01 01:00:00");
	accepts("2023-03-01T01:00:00+02:00", "2023-02-28 23:00:00");
	accepts("2023-04-30T22:00:00-03:00", "2023-05-01 01:00:00");
	/* year */
	accepts("2023-12-31T23:30:00-01:00", "2024-01-01 00:30:00");
	accepts("2024-01-01T00:15:00+00:30", "2023-12-31 23:45:00");
	accepts("1999-12-31T20:00:00.5-05:00", "2000-01-01 01:00:00.500000");
}
END_TEST

START_TEST(leap_day)
{
	accepts("2024-02-29", "2024-02-29 00:00:00");
	accepts("2024-02-29 12:34:56", "2024-02-29 12:34:56");
	accepts("2000-02-29", "2000-02-29 00:00:00");
	/* offsets landing on and leaving the leap day */
	accepts("2024-02-28T23:00:00-01:00", "2024-02-29 00:00:00");
	accepts("2024-03-01T00:00:00+00:01", "2024-02-29 23:59:00");
	accepts("2024-02-29T23:30:00-01:00", "2024-03-01 00:30:00");
}
END_TEST

START_TEST(year_range)
{
	accepts("0001-01-01", "0001-01-01 00:00:00");
	accepts("0001-01-01T00:00:00Z", "0001-01-01 00:00:00");
	accepts("9999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999");
	accepts("0001-01-01T01:00:00+01:00", "0001-01-01 00:00:00");
	accepts("9999-12-31T22:59:59-01:00", "9999-12-31 23:59:59");
}
END_TEST

START_TEST(reads_only_len_bytes)
{
	int64_t	 us;

	ck_assert_int_eq(dt_parse("2023-07-18 23:56:05garbage", 19, &us), 0);
	ck_assert_int_eq(us, utc(2023, 7, 18, 23, 56, 5));
	ck_assert_int_eq(dt_parse("2023-07-18 23:56:05", 10, &us), 0);
	ck_assert_int_eq(us, utc(2023, 7, 18, 0, 0, 0));
}
END_TEST

START_TEST(impossible_dates_refused)
{
	REFUSES("2023-02-30");
	REFUSES("2023-02-29");
	REFUSES("2023-02-29 00:00:00");
	REFUSES("1900-02-29");
	REFUSES("2100-02-29");
	REFUSES("2023-04-31");
	REFUSES("2023-06-31T12:00:00");
	REFUSES("2023-13-01");
	REFUSES("2023-00-10");
	REFUSES("2023-07-00");
	REFUSES("2023-07-32");
	REFUSES("0000-01-01");
	REFUSES("0000-12-31 23:59:59");
}
END_TEST

START_TEST(impossible_times_refused)
{
	REFUSES("2023-07-18 24:00:00");
	REFUSES("2023-07-18T24:00:00Z");
	REFUSES("2023-07-18 23:60:00");
	REFUSES("2023-07-18 23:59:60");
	REFUSES("2023-07-18 23:59:60Z");
	REFUSES("2023-07-18 99:00:00");
}
END_TEST

START_TEST(fraction_forms_refused)
{
	REFUSES("2023-07-18 23:56:05.1234567");
	REFUSES("2023-07-18 23:56:05.1234567Z");
	REFUSES("2023-07-18 23:56:05.");
	REFUSES("2023-07-18 23:56:05.Z");
	REFUSES("2023-07-18 23:56:05.+01:00");
	REFUSES("2023-07-18 23:56:05.12a");
	REFUSES("2023-07-18 23:56:05,5");
}
END_TEST

START_TEST(case_and_space_refused)
{
	REFUSES("2023-07-18t23:56:05");
	REFUSES("2023-07-18 23:56:05z");
	REFUSES("2023-07-18T23:56:05z");
	REFUSES(" 2023-07-18");
	REFUSES("2023-07-18 ");
	REFUSES(" 2023-07-18 23:56:05");
	REFUSES("2023-07-18 23:56:05 ");
	REFUSES("2023-07-18  23:56:05");
	REFUSES("2023-07-18 23:56:05 +01:00");
	REFUSES("2023-07-18\t23:56:05");
	refuses("2023-07-18\0", 11);
	refuses("2023-07-18 23:56:05\0", 20);
}
END_TEST

START_TEST(short_fields_refused)
{
	REFUSES("2023-7-18");
	REFUSES("2023-07-8");
	REFUSES("2023-7-18 23:56:05");
	REFUSES("23-07-18");
	REFUSES("2023-07-18 23:56");
	REFUSES("2023-07-18T23:56");
	REFUSES("2023-07-18T23:56Z");
	REFUSES("2023-07-18T23:56+02:00");
	REFUSES("2023-07-18 3:56:05");
	REFUSES("2023-07-18 23:5:05");
	REFUSES("2023-07-18T");
	REFUSES("2023-07-18Z");
	REFUSES("2023-07-18+02:00");
}
END_TEST

START_TEST(offset_forms_refused)
{
	REFUSES("2023-07-18 23:56:05+0200");
	REFUSES("2023-07-18 23:56:05-0200");
	REFUSES("2023-07-18 23:56:05+02");
	REFUSES("2023-07-18 23:56:05+2:00");
	REFUSES("2023-07-18 23:56:05+24:00");
	REFUSES("2023-07-18 23:56:05-24:00");
	REFUSES("2023-07-18 23:56:05+02:60");
	REFUSES("2023-07-18 23:56:05+02:00:00");
	REFUSES("2023-07-18 23:56:05Z+01:00");
	REFUSES("2023-07-18 23:56:05+01:00Z");
	REFUSES("2023-07-18 23:56:05UTC");
}
END_TEST

START_TEST(offset_out_of_year_range_refused)
{
	REFUSES("0001-01-01T00:00:00+00:01");
	REFUSES("0001-01-01T00:30:00+01:00");
	REFUSES("9999-12-31T23:59:59-00:01");
	REFUSES("9999-12-31T23:30:00-01:00");
}
END_TEST

START_TEST(garbage_refused)
{
	REFUSES("");
	REFUSES("now");
	REFUSES("yesterday");
	REFUSES("2023/07/18");
	REFUSES("20230718");
	REFUSES("2023-07-18T23:56:05.123456789");
	REFUSES("+2023-07-18");
	REFUSES("-2023-07-18");
	REFUSES("12023-07-18");
	REFUSES("2023-07-1a");
	REFUSES("2023-0a-18");
	REFUSES("2a23-07-18");
	REFUSES("2023-07-18 2a:56:05");
	REFUSES("1689724565");
}
END_TEST

START_TEST(format_no_fraction_when_zero)
{
	char	 out[DT_FMT_MAX];

	ck_assert_uint_eq(dt_format(0, ' ', out), 19);
	ck_assert_str_eq(out, "1970-01-01 00:00:00");
	ck_assert_uint_eq(dt_format(utc(2023, 7, 18, 23, 30, 26), ' ', out),
	    19);
	ck_assert_str_eq(out, "2023-07-18 23:30:26");
}
END_TEST

START_TEST(format_six_digits_otherwise)
{
	char	 out[DT_FMT_MAX];
	int64_t	 t = utc(2023, 7, 18, 23, 30, 26);

	ck_assert_uint_eq(dt_format(t + 1, ' ', out), 26);
	ck_assert_str_eq(out, "2023-07-18 23:30:26.000001");
	dt_format(t + 500000, ' ', out);
	ck_assert_str_eq(out, "2023-07-18 23:30:26.500000");
	dt_format(t + 999999, ' ', out);
	ck_assert_str_eq(out, "2023-07-18 23:30:26.999999");
	dt_format(utc(9999, 12, 31, 23, 59, 59) + 999999, ' ', out);
	ck_assert_str_eq(out, "9999-12-31 23:59:59.999999");
	ck_assert_uint_eq(strlen(out) + 1, DT_FMT_MAX);
}
END_TEST

START_TEST(format_t_separator)
{
	char	 out[DT_FMT_MAX];

	ck_assert_uint_eq(dt_format(utc(2023, 7, 18, 23, 56, 5), 'T', out),
	    19);
	ck_assert_str_eq(out, "2023-07-18T23:56:05");
	dt_format(utc(2023, 7, 18, 23, 56, 5) + 120000, 'T', out);
	ck_assert_str_eq(out, "2023-07-18T23:56:05.120000");
}
END_TEST

START_TEST(format_before_1970)
{
	char	 out[DT_FMT_MAX];

	dt_format(-1, ' ', out);
	ck_assert_str_eq(out, "1969-12-31 23:59:59.999999");
	dt_format(-US, ' ', out);
	ck_assert_str_eq(out, "1969-12-31 23:59:59");
	dt_format(-US - 250000, ' ', out);
	ck_assert_str_eq(out, "1969-12-31 23:59:58.750000");
	dt_format(utc(1900, 3, 1, 6, 7, 8), 'T', out);
	ck_assert_str_eq(out, "1900-03-01T06:07:08");
	dt_format(utc(1, 1, 1, 0, 0, 0), ' ', out);
	ck_assert_str_eq(out, "0001-01-01 00:00:00");
	dt_format(utc(999, 5, 6, 7, 8, 9) + 42, ' ', out);
	ck_assert_str_eq(out, "0999-05-06 07:08:09.000042");
}
END_TEST

START_TEST(round_trip)
{
	static const char *const in[] = {
		"2023-07-18 23:56:05", "2023-07-18 23:56:05.123456",
		"1969-07-20 20:17:40", "0001-01-01 00:00:00",
		"9999-12-31 23:59:59", "2024-02-29 00:00:00.000001",
		"1600-02-29 12:00:00.5",
	};
	char	 out[DT_FMT_MAX], again[DT_FMT_MAX];
	int64_t	 us, us2;
	size_t	 i, n;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_eq(dt_parse(in[i], strlen(in[i]), &us), 0);
		n = dt_format(us, ' ', out);
		ck_assert_int_eq(dt_parse(out, n, &us2), 0);
		ck_assert_int_eq(us, us2);
		dt_format(us2, ' ', again);
		ck_assert_str_eq(out, again);
	}
}
END_TEST

START_TEST(now_is_utc_now)
{
	int64_t	 before = (int64_t)time(NULL) * US, now = dt_now(),
		 after = ((int64_t)time(NULL) + 1) * US;

	ck_assert_int_ge(now, before);
	ck_assert_int_le(now, after);
}
END_TEST

Suite *
datetime_suite(void)
{
	Suite	*s = suite_create("datetime");
	TCase	*tc;

	tc = tcase_create("accepted");
	tcase_add_test(tc, oracle_known_instants);
	tcase_add_test(tc, date_only_is_midnight);
	tcase_add_test(tc, space_and_t_separators);
	tcase_add_test(tc, fractions_one_to_six_digits);
	tcase_add_test(tc, zulu);
	tcase_add_test(tc, positive_offset_converted_to_utc);
	tcase_add_test(tc, negative_offset_converted_to_utc);
	tcase_add_test(tc, offset_crosses_day_month_year);
	tcase_add_test(tc, leap_day);
	tcase_add_test(tc, year_range);
	tcase_add_test(tc, reads_only_len_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_test(tc, impossible_dates_refused);
	tcase_add_test(tc, impossible_times_refused);
	tcase_add_test(tc, fraction_forms_refused);
	tcase_add_test(tc, case_and_space_refused);
	tcase_add_test(tc, short_fields_refused);
	tcase_add_test(tc, offset_forms_refused);
	tcase_add_test(tc, offset_out_of_year_range_refused);
	tcase_add_test(tc, garbage_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, format_no_fraction_when_zero);
	tcase_add_test(tc, format_six_digits_otherwise);
	tcase_add_test(tc, format_t_separator);
	tcase_add_test(tc, format_before_1970);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, now_is_utc_now);
	suite_add_tcase(s, tc);
	return s;
}
