/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"

enum section_kind {
        SECTION_DAEMON,
        SECTION_DETECTOR,
        SECTION_HISTORY,
        SECTION_ADVISORY,
        SECTION_SENSOR, /* last: one slot per sensor from here on */
};

static const char *const section_names[] = {
        [SECTION_DAEMON] = "daemon",
        [SECTION_DETECTOR] = "detector",
        [SECTION_HISTORY] = "history",
        [SECTION_ADVISORY] = "advisory",
};

enum key_type {
        KEY_DOUBLE,
        KEY_UNSIGNED,
        KEY_STRING,
        KEY_ROLE,
        KEY_BOOL,
};

struct key {
        enum section_kind section;
        const char *name;
        enum key_type type;
        size_t offset;
        double min, max;
        const char *help; /* what is allowed, for messages */
};

#define DET(f) offsetof(struct detector_config, f)
#define SEN(f) offsetof(struct sensor_config, f)
#define CFG(f) offsetof(struct spasmd_config, f)

static const struct key keys[] = {
        { SECTION_DAEMON, "monitoring", KEY_BOOL, CFG(daemon.monitoring), 0, 0, "yes or no" },
        { SECTION_HISTORY, "directory", KEY_STRING, CFG(history.directory), 0, 0, "an absolute path" },
        { SECTION_HISTORY, "max_age_days", KEY_UNSIGNED, CFG(history.max_age_days), 1, 36500, "days from 1 to 36500" },
        { SECTION_HISTORY, "max_size_mb", KEY_UNSIGNED, CFG(history.max_size_mb), 1, 1024, "MiB from 1 to 1024" },
        { SECTION_ADVISORY, "max_spasms_per_day", KEY_UNSIGNED, CFG(advisory.max_spasms_per_day), 1, 1000,
          "a count from 1 to 1000" },
        { SECTION_ADVISORY, "max_spasm_minutes", KEY_UNSIGNED, CFG(advisory.max_spasm_minutes), 1, 1440,
          "minutes from 1 to 1440" },
        { SECTION_ADVISORY, "trend", KEY_BOOL, CFG(advisory.trend), 0, 0, "yes or no" },
        { SECTION_DETECTOR, "on_ratio", KEY_DOUBLE, CFG(detector) + DET(on_ratio), 1.5, 100, "a number from 1.5 to 100" },
        { SECTION_DETECTOR, "off_ratio", KEY_DOUBLE, CFG(detector) + DET(off_ratio), 1.0, 100, "a number from 1 to 100, below on_ratio" },
        { SECTION_DETECTOR, "min_on_s", KEY_DOUBLE, CFG(detector) + DET(min_on_s), 0.01, 1.0, "seconds from 0.01 to 1" },
        { SECTION_DETECTOR, "min_off_s", KEY_DOUBLE, CFG(detector) + DET(min_off_s), 0.05, 5.0, "seconds from 0.05 to 5" },
        { SECTION_DETECTOR, "spasm_min_s", KEY_DOUBLE, CFG(detector) + DET(spasm_min_s), 0.5, 10.0, "seconds from 0.5 to 10" },
        { SECTION_SENSOR, "uri", KEY_STRING, SEN(uri), 0, 0, "local:, ip:HOST[:PORT], usb:... or replay:PATH" },
        { SECTION_SENSOR, "device", KEY_STRING, SEN(device), 0, 0, "an IIO device name, label or iio:deviceN" },
        { SECTION_SENSOR, "channels", KEY_STRING, SEN(channels), 0, 0, "auto, or ID:NAME pairs such as voltage0:emg_left" },
        { SECTION_SENSOR, "sample_rate", KEY_DOUBLE, SEN(sample_rate), 0, 20000, "0 (leave as is) or 50 to 20000 Hz" },
        { SECTION_SENSOR, "buffer_ms", KEY_UNSIGNED, SEN(buffer_ms), 5, 1000, "milliseconds from 5 to 1000" },
        { SECTION_SENSOR, "speed", KEY_DOUBLE, SEN(speed), 0, 1000, "0 (as fast as possible) or a factor up to 1000" },
        { SECTION_SENSOR, "role", KEY_ROLE, SEN(role), 0, 0, "auto, emg or imu" },
};

struct parse_state {
        struct spasmd_config *cfg;
        const char *file;
        unsigned line;
        char section[CONFIG_NAME_MAX + 16];
        struct sensor_config *sensor;                     /* current [sensor.NAME] */
        uint32_t seen[SECTION_SENSOR + CONFIG_MAX_SENSORS];             /* keys set in this file, per section */
        char *err;
        size_t errlen;
        int failed;
        /* reader */
        const char *text;
        FILE *stream;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parse_state *p, const char *fmt, ...) {
        char what[CONFIG_VALUE_MAX + 512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (!p->failed)
                snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, what);
        p->failed = 1;
        return 0;
}

static struct sensor_config *find_or_add_sensor(struct parse_state *p, const char *name) {
        struct spasmd_config *c = p->cfg;
        for (unsigned i = 0; i < c->n_sensors; i++)
                if (strcmp(c->sensors[i].name, name) == 0)
                        return &c->sensors[i];
        if (c->n_sensors == CONFIG_MAX_SENSORS)
                return NULL;
        struct sensor_config *s = &c->sensors[c->n_sensors++];
        *s = (struct sensor_config) { .buffer_ms = 50, .speed = 1.0, .line = p->line };
        snprintf(s->file, sizeof(s->file), "%s", p->file);
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->channels, sizeof(s->channels), "auto");
        return s;
}

static bool valid_sensor_name(const char *n) {
        if (!*n || strlen(n) >= CONFIG_NAME_MAX)
                return false;
        /* It becomes part of a D-Bus object path. */
        for (const char *q = n; *q; q++)
                if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_'))
                        return false;
        return true;
}

static int enter_section(struct parse_state *p, const char *section) {
        snprintf(p->section, sizeof(p->section), "%s", section);
        p->sensor = NULL;
        if (strncmp(section, "sensor.", 7) == 0) {
                if (!valid_sensor_name(section + 7))
                        return fail(p, "[%s]: a sensor name is 1 to 63 letters, digits or _", section);
                p->sensor = find_or_add_sensor(p, section + 7);
                if (!p->sensor)
                        return fail(p, "[%s]: too many sensors (at most %d)", section, CONFIG_MAX_SENSORS);
                return 1;
        }
        for (size_t i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
                if (strcmp(section, section_names[i]) == 0)
                        return 1;
        return fail(p, "unknown section [%s]; allowed: [daemon], [detector], [history], [advisory], [sensor.NAME]",
                    section);
}

/* A value starting with ; or # would read back as a comment (--check-config's
 * output must load again); the history's directory must be absolute. */
static bool string_value_ok(const struct key *k, const char *value) {
        if (value[0] == ';' || value[0] == '#')
                return false;
        return k->section != SECTION_HISTORY || value[0] == '/';
}

static int set_value(struct parse_state *p, const struct key *k, void *base, const char *value) {
        char *end = NULL;
        void *field = (char *) base + k->offset;

        switch (k->type) {
        case KEY_DOUBLE: {
                errno = 0;
                double v = strtod(value, &end);
                if (errno || end == value || *end || !isfinite(v) || v < k->min || v > k->max)
                        return fail(p, "%s=%s: use %s", k->name, value, k->help);
                *(double *) field = v;
                return 1;
        }
        case KEY_UNSIGNED: {
                errno = 0;
                unsigned long v = strtoul(value, &end, 10);
                if (errno || end == value || *end || value[0] == '-' || v < k->min || v > k->max)
                        return fail(p, "%s=%s: use %s", k->name, value, k->help);
                *(unsigned *) field = (unsigned) v;
                return 1;
        }
        case KEY_STRING:
                if (!*value || strlen(value) >= CONFIG_VALUE_MAX)
                        return fail(p, "%s=%s: empty or too long; use %s", k->name, value, k->help);
                if (!string_value_ok(k, value))
                        return fail(p, "%s=%s: use %s (a value cannot start with ; or #)", k->name, value, k->help);
                snprintf(field, CONFIG_VALUE_MAX, "%s", value);
                return 1;
        case KEY_BOOL:
                if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") || !strcmp(value, "1"))
                        *(bool *) field = true;
                else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off") ||
                         !strcmp(value, "0"))
                        *(bool *) field = false;
                else
                        return fail(p, "%s=%s: use %s", k->name, value, k->help);
                return 1;
        case KEY_ROLE:
                if (strcmp(value, "auto") == 0)
                        *(enum sensor_role *) field = SENSOR_ROLE_AUTO;
                else if (strcmp(value, "emg") == 0)
                        *(enum sensor_role *) field = SENSOR_ROLE_EMG;
                else if (strcmp(value, "imu") == 0)
                        *(enum sensor_role *) field = SENSOR_ROLE_IMU;
                else
                        return fail(p, "%s=%s: use %s", k->name, value, k->help);
                return 1;
        }
        return fail(p, "%s=%s cannot be set", k->name, value);
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_state *p = user;

        if (p->failed)
                return 0;
        if (!name)
                return 1; /* a section header alone */
        /* inih hands keys above the first header over with section "": no section
         * matches, so without this they would count as keys of a sensor that is not there. */
        if (!section[0])
                return fail(p, "%s= comes before any section; put it under [daemon], [detector], [history], "
                            "[advisory] or [sensor.NAME]", name);
        if (strcmp(section, p->section) != 0 && !enter_section(p, section))
                return 0;

        enum section_kind kind = SECTION_SENSOR;
        if (!p->sensor)
                for (size_t i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
                        if (strcmp(section, section_names[i]) == 0)
                                kind = (enum section_kind) i;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const struct key *k = &keys[i];
                if (k->section != kind || strcmp(k->name, name) != 0)
                        continue;
                unsigned slot = kind == SECTION_SENSOR ? SECTION_SENSOR + (unsigned) (p->sensor - p->cfg->sensors)
                                                       : (unsigned) kind;
                if (p->seen[slot] & (UINT32_C(1) << i))
                        return fail(p, "%s is set twice in [%s]; keep one of them", name, section);
                p->seen[slot] |= UINT32_C(1) << i;
                return set_value(p, k, kind == SECTION_SENSOR ? (void *) p->sensor : (void *) p->cfg, value);
        }

        char allowed[400] = "";
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (keys[i].section == kind) {
                        strncat(allowed, allowed[0] ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
                        strncat(allowed, keys[i].name, sizeof(allowed) - strlen(allowed) - 1);
                }
        return fail(p, "unknown key %s; allowed here: %s", name, allowed[0] ? allowed : "none yet");
}

/* fgets() that also reports a NUL byte: inih would end the line there and read the rest as nothing. */
static char *read_stream_line(char *str, int num, FILE *f, bool *nul) {
        int n = 0;

        while (n < num - 1) {
                int c = getc(f);
                if (c == EOF)
                        break;
                if (c == '\0') {
                        *nul = true;
                        c = ' ';
                }
                str[n++] = (char) c;
                if (c == '\n')
                        break;
        }
        if (n == 0)
                return NULL;
        str[n] = '\0';
        return str;
}

/* inih's reader, counting lines so that errors can name them. */
static char *read_line(char *str, int num, void *stream) {
        struct parse_state *p = stream;
        bool nul = false;
        char *r;

        if (p->stream)
                r = read_stream_line(str, num, p->stream, &nul);
        else {
                if (!*p->text)
                        return NULL;
                size_t n = strcspn(p->text, "\n");
                size_t take = n + (p->text[n] == '\n');
                if (take > (size_t) num - 1)
                        take = (size_t) num - 1;
                memcpy(str, p->text, take);
                str[take] = '\0';
                p->text += take;
                r = str;
        }
        if (!r)
                return NULL;
        p->line++;
        /* What a power cut can leave of a file written without fsync; read as empty, it would drop every
         * sensor on reload. */
        if (nul && !p->failed)
                fail(p, "NUL byte in the line: the file is damaged; rewrite it as text");
        size_t len = strlen(r);
        /* inih would split a longer line and misreport what follows. */
        if (len == (size_t) num - 1 && r[len - 1] != '\n' && !p->failed)
                fail(p, "line longer than %d characters; shorten it", num - 2);
        /* inih does not report a section header without keys; check its name here. */
        const char *q = r + strspn(r, " \t");
        if (*q == '[' && !p->failed) {
                char name[CONFIG_NAME_MAX + 16];
                size_t n = strcspn(q + 1, "]");
                if (q[1 + n] == ']' && n < sizeof(name)) {
                        memcpy(name, q + 1, n);
                        name[n] = '\0';
                        if (!enter_section(p, name))
                                return r;
                }
        }
        return r;
}

static int validate(const struct spasmd_config *c, char *err, size_t errlen) {
        if (c->detector.off_ratio > 0 && c->detector.on_ratio > 0 && c->detector.off_ratio >= c->detector.on_ratio) {
                snprintf(err, errlen, "[detector] off_ratio=%g must be below on_ratio=%g", c->detector.off_ratio,
                         c->detector.on_ratio);
                return -EINVAL;
        }
        for (unsigned i = 0; i < c->n_sensors; i++) {
                const struct sensor_config *s = &c->sensors[i];
                if (!s->uri[0]) {
                        snprintf(err, errlen, "%s:%u: [sensor.%s] has no uri=; set uri=local:, ip:HOST, usb:... or "
                                 "replay:/path/recording.csv", s->file, s->line, s->name);
                        return -EINVAL;
                }
                bool replay = sensor_config_is_replay(s);
                if (!replay && strncmp(s->uri, "local:", 6) != 0 && strncmp(s->uri, "ip:", 3) != 0 &&
                    strncmp(s->uri, "usb:", 4) != 0) {
                        snprintf(err, errlen, "%s:%u: [sensor.%s] uri=%s: use local:, ip:HOST[:PORT], usb:... or "
                                 "replay:PATH", s->file, s->line, s->name, s->uri);
                        return -EINVAL;
                }
                if (!replay && !s->device[0]) {
                        snprintf(err, errlen, "%s:%u: [sensor.%s] has no device=; set the IIO device name, label or "
                                 "iio:deviceN", s->file, s->line, s->name);
                        return -EINVAL;
                }
                if (s->sample_rate != 0 && s->sample_rate < 50) {
                        snprintf(err, errlen, "%s:%u: [sensor.%s] sample_rate=%g: use 0 or 50 to 20000", s->file,
                                 s->line, s->name, s->sample_rate);
                        return -EINVAL;
                }
        }
        return 0;
}

static int parse_one(struct parse_state *p) {
        int r = ini_parse_stream(read_line, p, handler, p);
        if (p->failed)
                return -EINVAL;
        if (r > 0) {
                snprintf(p->err, p->errlen, "%s:%d: not an INI line (expected [section], key = value, or a ; comment)",
                         p->file, r);
                return -EINVAL;
        }
        if (r < 0) {
                snprintf(p->err, p->errlen, "%s: cannot be read", p->file);
                return -EIO;
        }
        return 0;
}

static int parse_file(struct spasmd_config *c, const char *path, char *err, size_t errlen) {
        FILE *f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                snprintf(err, errlen, "%s: %s", path, strerror(-r));
                return r;
        }
        struct parse_state p = { .cfg = c, .file = path, .err = err, .errlen = errlen, .stream = f };
        int r = parse_one(&p);
        fclose(f);
        return r;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int conf_only(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

int config_load(const char *path, const char *dropin_dir, bool allow_missing, struct spasmd_config *ret,
                char *err, size_t errlen) {
        struct spasmd_config *c = calloc(1, sizeof(*c));
        char dir[CONFIG_VALUE_MAX];
        int r;

        if (!c)
                return -ENOMEM;
        config_defaults(c);
        r = parse_file(c, path, err, errlen);
        if (r == -ENOENT && allow_missing)
                r = 0;
        if (r < 0)
                goto out;

        snprintf(dir, sizeof(dir), "%s", dropin_dir ? dropin_dir : "");
        if (!dropin_dir)
                snprintf(dir, sizeof(dir), "%s.d", path);
        struct dirent **list = NULL;
        int n = scandir(dir, &list, conf_only, by_name);
        for (int i = 0; i < n; i++) {
                char file[CONFIG_VALUE_MAX * 2];
                snprintf(file, sizeof(file), "%s/%s", dir, list[i]->d_name);
                if (r == 0)
                        r = parse_file(c, file, err, errlen);
                free(list[i]);
        }
        free(list);
        if (r < 0)
                goto out;
        r = validate(c, err, errlen);
        if (r == 0)
                *ret = *c;
out:
        free(c);
        return r;
}

int config_load_string(const char *text, const char *name, struct spasmd_config *ret, char *err, size_t errlen) {
        struct spasmd_config *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        config_defaults(c);
        struct parse_state p = { .cfg = c, .file = name, .err = err, .errlen = errlen, .text = text };
        int r = parse_one(&p);
        if (r == 0)
                r = validate(c, err, errlen);
        if (r == 0)
                *ret = *c;
        free(c);
        return r;
}

void config_defaults(struct spasmd_config *c) {
        *c = (struct spasmd_config) {
                .daemon = { .monitoring = true },
                .history = { .max_age_days = 365, .max_size_mb = 64 },
                .advisory = { .max_spasms_per_day = 5, .max_spasm_minutes = 10, .trend = true },
        };
        detector_config_defaults(&c->detector);
}

const char *sensor_role_to_string(enum sensor_role r) {
        switch (r) {
        case SENSOR_ROLE_AUTO:
                return "auto";
        case SENSOR_ROLE_EMG:
                return "emg";
        case SENSOR_ROLE_IMU:
                return "imu";
        }
        return "unknown";
}

bool sensor_config_is_replay(const struct sensor_config *s) {
        return strncmp(s->uri, "replay:", 7) == 0;
}

void config_dump(const struct spasmd_config *c, FILE *f) {
        const struct detector_config *d = &c->detector;
        fprintf(f, "[daemon]\nmonitoring = %s\n\n", c->daemon.monitoring ? "yes" : "no");
        fprintf(f, "[history]\n");
        if (c->history.directory[0])
                fprintf(f, "directory = %s\n", c->history.directory);
        else
                fprintf(f, "# directory: $STATE_DIRECTORY when systemd sets it, else " CONFIG_DEFAULT_STATE_DIR "\n");
        fprintf(f, "max_age_days = %u\nmax_size_mb = %u\n\n", c->history.max_age_days, c->history.max_size_mb);
        fprintf(f, "[advisory]\nmax_spasms_per_day = %u\nmax_spasm_minutes = %u\ntrend = %s\n\n",
                c->advisory.max_spasms_per_day, c->advisory.max_spasm_minutes, c->advisory.trend ? "yes" : "no");
        fprintf(f, "[detector]\non_ratio = %g\noff_ratio = %g\nmin_on_s = %g\nmin_off_s = %g\nspasm_min_s = %g\n",
                d->on_ratio, d->off_ratio, d->min_on_s, d->min_off_s, d->spasm_min_s);
        for (unsigned i = 0; i < c->n_sensors; i++) {
                const struct sensor_config *s = &c->sensors[i];
                fprintf(f, "\n[sensor.%s]\nuri = %s\n", s->name, s->uri);
                if (s->device[0])
                        fprintf(f, "device = %s\n", s->device);
                fprintf(f, "channels = %s\nsample_rate = %g\nbuffer_ms = %u\nrole = %s\n", s->channels,
                        s->sample_rate, s->buffer_ms, sensor_role_to_string(s->role));
                if (sensor_config_is_replay(s))
                        fprintf(f, "speed = %g\n", s->speed);
        }
}
