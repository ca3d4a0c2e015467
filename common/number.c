/* Numbers given as text (command-line options) or as parsed JSON numbers
 * (task files, agent specs): the whole string must be
 * the number, in plain decimal, inside a range.  strtol/atoll answer 0 for
 * "abc", wrap or saturate on overflow, and take "0x10", " 5" and "+5";
 * none of that is what a user who mistyped an option means. */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>

#include "crl_common.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

double crl_strtod_c(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    if (!c_locale) { /* out of memory: nothing read */
        if (end)
            *end = (char *)s;
        return 0;
    }
    return strtod_l(s, end, c_locale);
}

int crl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s)
        return -1;
    const char *p = s + (*s == '-');
    if (*p < '0' || *p > '9')
        return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int crl_parse_decimal(const char *s, double min, double max, double *out)
{
    if (!s)
        return -1;
    int digits = 0, dots = 0;
    for (const char *q = s; *q; q++) {
        if (*q >= '0' && *q <= '9')
            digits++;
        else if (*q == '.' && !dots)
            dots++;
        else
            return -1;
    }
    if (!digits)
        return -1;
    char *end;
    double v = crl_strtod_c(s, &end);
    if (*end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

int crl_number_in(double v, double min, double max)
{
    return v >= min && v <= max ? 0 : -1; /* false for NaN */
}

int crl_number_i64(double v, int64_t min, int64_t max, int64_t *out)
{
    if (crl_number_in(v, (double)min, (double)max) != 0)
        return -1;
    /* (double)max may round up past max (2^63 for INT64_MAX). */
    if (v >= 9223372036854775807.0)
        return -1;
    int64_t n = (int64_t)v;
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}
