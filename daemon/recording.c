/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "recording.h"

#define MAGIC "# spasmd-recording v1"
#define MAGIC_PREFIX "# spasmd-recording "
#define UTF8_BOM "\xEF\xBB\xBF"

enum role { ROLE_SKIP, ROLE_TIME, ROLE_EMG, ROLE_IMU };

static const char *const imu_names[RECORDING_IMU_VALUES] = {
        "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z",
};

static const struct {
        const char *name;
        double scale; /* to microvolts */
} units[] = {
        { "uV", 1.0 }, { "\xC2\xB5V", 1.0 }, { "mV", 1e3 }, { "V", 1e6 },
};

struct column {
        const char *name; /* points into recording.header */
        enum role role;
        unsigned index;   /* among the EMG or the IMU columns */
};

struct recording {
        FILE *f;
        bool own_f;
        int error;        /* sticky: once a row is bad, what follows is not trusted */
        char *name;
        char *header;
        char *warning;
        unsigned long line_no;
        unsigned long long n_frames;
        double rate_hz;
        double emg_scale;
        bool units_seen, units_known, has_imu;
        unsigned n_cols, n_emg, n_meta;
        struct column cols[RECORDING_MAX_COLUMNS];
        const char *emg_names[DETECTOR_MAX_EMG];
        char *meta[RECORDING_MAX_META][2];
        char msg[512];
        /* One spare byte for a CR before the LF, one for the terminating NUL. */
        char line[RECORDING_MAX_LINE + 2];
};

/* Messages land in r->msg first, so a sticky error can be repeated; entry points copy them out. */
__attribute__((format(printf, 4, 5)))
static int fail(struct recording *r, unsigned col, int error, const char *fmt, ...) {
        va_list ap;
        int n;

        if (r->line_no == 0) /* nothing read yet, e.g. EISDIR */
                n = snprintf(r->msg, sizeof r->msg, "%s: ", r->name);
        else if (col > 0)
                n = snprintf(r->msg, sizeof r->msg, "%s:%lu:%u: ", r->name, r->line_no, col);
        else
                n = snprintf(r->msg, sizeof r->msg, "%s:%lu: ", r->name, r->line_no);
        if (n >= 0 && (size_t) n < sizeof r->msg) {
                va_start(ap, fmt);
                vsnprintf(r->msg + n, sizeof r->msg - (size_t) n, fmt, ap);
                va_end(ap);
        }
        r->error = -error;
        return -error;
}

#define bad(r, col, ...) fail(r, col, EBADMSG, __VA_ARGS__)

static int copy_msg(const struct recording *r, int k, char *err, size_t errlen) {
        if (k < 0 && err && errlen > 0)
                snprintf(err, errlen, "%s", r->msg);
        return k;
}

/* 1 with the line in r->line, CR/LF stripped; 0 at the end; or a negative errno. */
static int read_line(struct recording *r, size_t *ret_len) {
        size_t n = 0;
        int c;

        /* Byte by byte, so NUL bytes are caught; the _unlocked variant keeps that cheap. */
        while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
                if (n == 0)
                        r->line_no++;
                if (c == '\0')
                        return bad(r, 0, "NUL byte; a recording is plain text, is this the right file?");
                if (n > RECORDING_MAX_LINE)
                        goto too_long;
                r->line[n++] = (char) c;
        }
        if (c == EOF && ferror(r->f)) {
                int e = errno > 0 ? errno : EIO;

                return fail(r, 0, e, "read error: %s", strerror(e));
        }
        if (c == EOF && n == 0)
                return 0;
        if (n == 0)
                r->line_no++; /* an empty line: the loop never ran */
        if (n > 0 && r->line[n - 1] == '\r')
                n--;
        if (n > RECORDING_MAX_LINE)
                goto too_long;
        r->line[n] = '\0';
        *ret_len = n;
        return 1;
too_long:
        return bad(r, 0, "line is longer than %u bytes; a row must stay under 64 KiB", RECORDING_MAX_LINE);
}

static char *trim(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                *--e = '\0';
        return s;
}

static bool is_blank(const char *s) {
        return s[strspn(s, " \t")] == '\0';
}

static int parse_rate(struct recording *r, const char *value) {
        char *end;
        double v;

        if (r->rate_hz > 0)
                return bad(r, 0, "rate_hz is given twice; keep one '# rate_hz=' line");
        v = strtod(value, &end);
        if (end == value || *end != '\0' || !isfinite(v))
                return bad(r, 0, "rate_hz='%.32s' is not a number; give the rate in Hz, e.g. '# rate_hz=1000'",
                           value);
        if (v < RECORDING_MIN_RATE_HZ || v > RECORDING_MAX_RATE_HZ)
                return bad(r, 0, "rate_hz=%g is out of range; it must be %g to %g Hz",
                           v, RECORDING_MIN_RATE_HZ, RECORDING_MAX_RATE_HZ);
        r->rate_hz = v;
        return 0;
}

static int parse_units(struct recording *r, const char *value) {
        if (r->units_seen)
                return bad(r, 0, "units is given twice; keep one '# units=' line");
        r->units_seen = true;
        /* Unknown units are no error: raw counts still show timing and shape, only not microvolts. */
        r->units_known = false;
        r->emg_scale = 1.0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
                if (strcmp(value, units[i].name) == 0) {
                        r->units_known = true;
                        r->emg_scale = units[i].scale;
                }
        return 0;
}

static int parse_meta(struct recording *r) {
        char *eq = strchr(r->line + 1, '='), *key, *value, **m;

        if (!eq)
                return 0; /* a plain comment */
        *eq = '\0';
        key = trim(r->line + 1);
        value = trim(eq + 1);
        if (!*key)
                return bad(r, 0, "'=' without a key; write '# key=value'");
        if (r->n_meta >= RECORDING_MAX_META)
                return bad(r, 0, "more than %u '# key=value' lines; merge some notes", RECORDING_MAX_META);
        m = r->meta[r->n_meta];
        m[0] = strdup(key);
        m[1] = strdup(value);
        r->n_meta++; /* even half-filled: recording_free() frees both */
        if (!m[0] || !m[1])
                return fail(r, 0, ENOMEM, "out of memory");
        if (strcmp(key, "rate_hz") == 0)
                return parse_rate(r, value);
        if (strcmp(key, "units") == 0)
                return parse_units(r, value);
        return 0;
}

static int set_role(struct recording *r, struct column *c, unsigned col) {
        c->role = ROLE_SKIP;
        if (strcmp(c->name, "t_s") == 0)
                c->role = ROLE_TIME;
        else if (strncmp(c->name, "emg_", 4) == 0) {
                if (!c->name[4])
                        return bad(r, col, "column 'emg_' has no site; name it emg_<site>, e.g. emg_left");
                if (r->n_emg >= DETECTOR_MAX_EMG)
                        return bad(r, col, "'%.64s' is EMG column %u, more than the %u the detector takes; "
                                   "drop some", c->name, r->n_emg + 1, DETECTOR_MAX_EMG);
                c->role = ROLE_EMG;
                c->index = r->n_emg;
                r->emg_names[r->n_emg++] = c->name;
        } else
                for (unsigned k = 0; k < RECORDING_IMU_VALUES; k++)
                        if (strcmp(c->name, imu_names[k]) == 0) {
                                c->role = ROLE_IMU;
                                c->index = k;
                        }
        return 0;
}

/* All six IMU columns or none: a partial IMU would make posture and movement guesses silently wrong. */
static int check_imu(struct recording *r) {
        char missing[64] = "";
        unsigned n_imu = 0;

        for (unsigned k = 0; k < RECORDING_IMU_VALUES; k++) {
                bool seen = false;

                for (unsigned i = 0; i < r->n_cols; i++)
                        seen = seen || (r->cols[i].role == ROLE_IMU && r->cols[i].index == k);
                if (seen)
                        n_imu++;
                else
                        strcat(strcat(missing, missing[0] ? ", " : ""), imu_names[k]);
        }
        if (n_imu > 0 && n_imu < RECORDING_IMU_VALUES)
                return bad(r, 0, "IMU columns incomplete, missing %s; give all of "
                           "acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z or none", missing);
        r->has_imu = n_imu == RECORDING_IMU_VALUES;
        return 0;
}

static int make_warning(struct recording *r) {
        size_t size = strlen(r->name) + 64, skipped = 0;
        int n;

        for (unsigned i = 0; i < r->n_cols; i++)
                if (r->cols[i].role == ROLE_SKIP) {
                        size += strlen(r->cols[i].name) + 1;
                        skipped++;
                }
        if (skipped == 0)
                return 0;
        r->warning = malloc(size);
        if (!r->warning)
                return fail(r, 0, ENOMEM, "out of memory");
        n = snprintf(r->warning, size, "%s:%lu: ignoring columns spasmd does not use:", r->name, r->line_no);
        for (unsigned i = 0; i < r->n_cols; i++)
                if (r->cols[i].role == ROLE_SKIP)
                        n += snprintf(r->warning + n, size - (size_t) n, " %s", r->cols[i].name);
        return 0;
}

static int parse_header(struct recording *r) {
        char *p, *next;
        int k;

        r->header = strdup(r->line);
        if (!r->header)
                return fail(r, 0, ENOMEM, "out of memory");
        for (p = r->header; p; p = next) {
                struct column *c;

                next = strchr(p, ',');
                if (next)
                        *next++ = '\0';
                if (r->n_cols >= RECORDING_MAX_COLUMNS)
                        return bad(r, r->n_cols + 1, "more than %u columns; drop the ones spasmd does not use",
                                   RECORDING_MAX_COLUMNS);
                c = &r->cols[r->n_cols++];
                c->name = trim(p);
                if (!*c->name)
                        return bad(r, r->n_cols, "column %u has no name; the header row names every column",
                                   r->n_cols);
                for (unsigned i = 0; i + 1 < r->n_cols; i++)
                        if (strcmp(r->cols[i].name, c->name) == 0)
                                return bad(r, r->n_cols, "column '%.64s' repeats column %u; "
                                           "column names must be unique", c->name, i + 1);
                k = set_role(r, c, r->n_cols);
                if (k < 0)
                        return k;
        }
        if (r->n_emg == 0)
                return bad(r, 0, "no EMG column in the header row; name EMG columns emg_<site>, e.g. emg_left");
        k = check_imu(r);
        if (k < 0)
                return k;
        return make_warning(r);
}

static int parse_head(struct recording *r) {
        size_t len;
        int k;

        k = read_line(r, &len);
        if (k < 0)
                return k;
        if (k == 0) {
                r->line_no = 1;
                return bad(r, 0, "file is empty; a recording starts with the line '" MAGIC "'");
        }
        if (strcmp(r->line, MAGIC) != 0) {
                if (strncmp(r->line, UTF8_BOM, 3) == 0)
                        return bad(r, 0, "file starts with a UTF-8 byte-order mark; save it without one");
                if (strncmp(r->line, MAGIC_PREFIX, strlen(MAGIC_PREFIX)) == 0)
                        return bad(r, 0, "unsupported format '%.40s'; this version reads '" MAGIC "'", r->line);
                return bad(r, 0, "first line must be exactly '" MAGIC "'; is this a spasmd recording?");
        }
        for (;;) {
                k = read_line(r, &len);
                if (k < 0)
                        return k;
                if (k == 0) {
                        r->line_no++;
                        return bad(r, 0, "no header row; after the '# key=value' lines put a row of column names");
                }
                if (is_blank(r->line))
                        return bad(r, 0, "blank line; delete it");
                if (r->line[0] != '#')
                        break;
                k = parse_meta(r);
                if (k < 0)
                        return k;
        }
        if (r->rate_hz <= 0)
                return bad(r, 0, "no rate_hz before the header row; add a line such as '# rate_hz=1000'");
        return parse_header(r);
}

static int parse_value(struct recording *r, char *s, unsigned col, double *ret) {
        const struct column *c = &r->cols[col - 1];
        char *end;
        double v;

        s = trim(s);
        if (!*s)
                return bad(r, col, "column '%.64s' is empty; every row needs a value in every column", c->name);
        v = strtod(s, &end);
        if (end == s || *end != '\0')
                return bad(r, col, "'%.32s' in column '%.64s' is not a number; write a decimal such as -12.5",
                           s, c->name);
        /* Overflow (1e999) comes back as HUGE_VAL, so isfinite() covers it; underflow to 0 is harmless. */
        if (!isfinite(v))
                return bad(r, col, "'%.32s' in column '%.64s' is not a finite number; the format has no "
                           "missing-value marker, write a finite value", s, c->name);
        if (c->role == ROLE_EMG)
                v *= r->emg_scale;
        if (c->role != ROLE_TIME && fabs(v) > FLT_MAX)
                return bad(r, col, "'%.32s' in column '%.64s' is too large for a sample; check the units line",
                           s, c->name);
        *ret = v;
        return 0;
}

static int read_frame(struct recording *r, float *emg, float *imu, double *t_s) {
        unsigned n_fields = 1;
        double t, v = 0;
        size_t len = 0;
        char *p, *next;
        int k;

        k = read_line(r, &len);
        if (k <= 0)
                return k;
        if (is_blank(r->line))
                return bad(r, 0, "blank line; delete it");
        if (r->line[0] == '#')
                return bad(r, 0, "'#' line after the header row; move it above the header");
        for (size_t i = 0; i < len; i++)
                n_fields += r->line[i] == ',';
        if (n_fields != r->n_cols)
                return bad(r, n_fields > r->n_cols ? r->n_cols + 1 : n_fields + 1,
                           "row has %u fields but the header has %u columns; give one value per column",
                           n_fields, r->n_cols);
        t = (double) r->n_frames / r->rate_hz;
        if (imu && !r->has_imu)
                for (unsigned i = 0; i < RECORDING_IMU_VALUES; i++)
                        imu[i] = NAN;
        p = r->line;
        for (unsigned col = 1; col <= r->n_cols; col++, p = next) {
                const struct column *c = &r->cols[col - 1];

                next = strchrnul(p, ',');
                if (*next)
                        *next++ = '\0';
                if (c->role == ROLE_SKIP)
                        continue;
                k = parse_value(r, p, col, &v);
                if (k < 0)
                        return k;
                if (c->role == ROLE_TIME)
                        t = v;
                else if (c->role == ROLE_EMG)
                        emg[c->index] = (float) v;
                else if (imu)
                        imu[c->index] = (float) v;
        }
        if (t_s)
                *t_s = t;
        r->n_frames++;
        return 1;
}

int recording_open_stream(FILE *f, const char *name, struct recording **ret, char *err, size_t errlen) {
        struct recording *r;
        int k;

        if (!f || !name || !ret)
                return -EINVAL;
        r = calloc(1, sizeof *r);
        if (!r || !(r->name = strdup(name))) {
                free(r);
                if (err && errlen > 0)
                        snprintf(err, errlen, "%s: out of memory", name);
                return -ENOMEM;
        }
        r->f = f;
        r->emg_scale = 1.0;
        r->units_known = true;
        k = parse_head(r);
        if (k < 0) {
                copy_msg(r, k, err, errlen);
                recording_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

int recording_open(const char *path, struct recording **ret, char *err, size_t errlen) {
        FILE *f;
        int k;

        if (!path || !ret)
                return -EINVAL;
        f = fopen(path, "re");
        if (!f) {
                k = errno;
                if (err && errlen > 0)
                        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(k));
                return -k;
        }
        k = recording_open_stream(f, path, ret, err, errlen);
        if (k < 0) {
                fclose(f);
                return k;
        }
        (*ret)->own_f = true;
        return 0;
}

struct recording *recording_free(struct recording *r) {
        if (!r)
                return NULL;
        if (r->own_f)
                fclose(r->f);
        for (unsigned i = 0; i < r->n_meta; i++) {
                free(r->meta[i][0]);
                free(r->meta[i][1]);
        }
        free(r->warning);
        free(r->header);
        free(r->name);
        free(r);
        return NULL;
}

int recording_read_frame(struct recording *r, float *emg, float *imu, double *t_s, char *err, size_t errlen) {
        if (!r || !emg)
                return -EINVAL;
        /* Once a row is bad, the rows after it are not trusted: repeat the first error. */
        if (r->error < 0)
                return copy_msg(r, r->error, err, errlen);
        return copy_msg(r, read_frame(r, emg, imu, t_s), err, errlen);
}

double recording_rate_hz(const struct recording *r) {
        return r->rate_hz;
}

unsigned recording_n_emg(const struct recording *r) {
        return r->n_emg;
}

const char *recording_emg_name(const struct recording *r, unsigned i) {
        return i < r->n_emg ? r->emg_names[i] : NULL;
}

bool recording_has_imu(const struct recording *r) {
        return r->has_imu;
}

bool recording_emg_units_known(const struct recording *r) {
        return r->units_known;
}

const char *recording_meta(const struct recording *r, const char *key) {
        for (unsigned i = r->n_meta; i > 0; i--)
                if (strcmp(r->meta[i - 1][0], key) == 0)
                        return r->meta[i - 1][1];
        return NULL;
}

const char *recording_warning(const struct recording *r) {
        return r->warning;
}

unsigned long recording_line(const struct recording *r) {
        return r->line_no;
}
