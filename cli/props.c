/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Reading spasmd's properties and history into structs, for the
 * subcommands that show them. A property of an unexpected type is skipped
 * like an unknown one: a spasmd of another version still gets its other
 * properties shown. Replies that are not even the right container are bad
 * data.
 */

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "json.h"
#include "props.h"

#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"
#define EVENT_SIGNATURE "(tssttddddss)"

bool props_known(const char *s) {
        return s && *s && strcmp(s, "unknown") != 0;
}

/* Local failures to read keep their meaning; anything else means the reply was not what we expected. */
static int bad(int r) {
        return r == -ENOMEM ? r : -EBADMSG;
}

static int read_event(sd_bus_message *m, struct spasmd_event *e) {
        int r;

        r = sd_bus_message_read(m, EVENT_SIGNATURE, &e->id, &e->class, &e->sensor, &e->onset_usec,
                                &e->duration_usec, &e->peak_uv, &e->intensity, &e->mvc_pct, &e->pulse_hz,
                                &e->side, &e->posture);
        return r < 0 ? bad(r) : r;
}

static void event_init(struct spasmd_event *e) {
        *e = (struct spasmd_event) { .class = "", .sensor = "", .mvc_pct = -1, .side = "", .posture = "" };
}

/*
 * Calls read_one for each entry of the a{sv} at m, with the name and the
 * variant's signature; read_one reads the variant, or returns 0 without
 * reading it to have it skipped.
 */
static int read_dict(sd_bus_message *m, void *userdata,
                     int (*read_one)(sd_bus_message *m, const char *name, const char *signature, void *userdata)) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return bad(r);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, *contents;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r >= 0)
                        r = read_one(m, name, contents, userdata);
                if (r == 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return bad(r);
        }
        if (r < 0)
                return bad(r);
        r = sd_bus_message_exit_container(m);
        return r < 0 ? bad(r) : 0;
}

static bool is(const char *name, const char *signature, const char *want_name, const char *want_signature) {
        return strcmp(name, want_name) == 0 && strcmp(signature, want_signature) == 0;
}

/* The variant holding a b, as a bool. */
static int read_bool(sd_bus_message *m, bool *ret) {
        int b, r;

        r = sd_bus_message_read(m, "v", "b", &b);
        if (r > 0)
                *ret = b;
        return r;
}

static int read_monitor_prop(sd_bus_message *m, const char *name, const char *sig, void *userdata) {
        struct monitor_props *p = userdata;
        int r;

        if (is(name, sig, "State", "s"))
                return sd_bus_message_read(m, "v", "s", &p->state);
        if (is(name, sig, "Monitoring", "b"))
                return read_bool(m, &p->monitoring);
        if (is(name, sig, "ActiveEvent", "(tsst)"))
                return sd_bus_message_read(m, "v", "(tsst)", &p->active.id, &p->active.class, &p->active.sensor,
                                           &p->active.onset_usec);
        if (is(name, sig, "SpasmsToday", "u"))
                return sd_bus_message_read(m, "v", "u", &p->spasms_today);
        if (is(name, sig, "LastEvent", EVENT_SIGNATURE)) {
                r = sd_bus_message_enter_container(m, 'v', EVENT_SIGNATURE);
                if (r > 0)
                        r = read_event(m, &p->last);
                if (r > 0)
                        r = sd_bus_message_exit_container(m);
                return r;
        }
        if (is(name, sig, "Calibrated", "b"))
                return read_bool(m, &p->calibrated);
        if (is(name, sig, "ActiveAdvisory", "(sst)"))
                return sd_bus_message_read(m, "v", "(sst)", &p->advisory.kind, &p->advisory.message,
                                           &p->advisory.time_usec);
        if (is(name, sig, "HistoryStatus", "s"))
                return sd_bus_message_read(m, "v", "s", &p->history_status);
        if (is(name, sig, "Version", "s"))
                return sd_bus_message_read(m, "v", "s", &p->version);
        return 0;
}

int props_get_monitor(sd_bus *bus, sd_bus_error *error, struct monitor_props *ret) {
        struct monitor_props p = {
                .state = "", .active = { .class = "", .sensor = "" },
                .advisory = { .kind = "", .message = "" }, .history_status = "", .version = "",
        };
        int r;

        event_init(&p.last);
        r = sd_bus_call_method(bus, SPASMD_BUS_NAME, SPASMD_BUS_PATH, PROPERTIES_INTERFACE, "GetAll", error,
                               &p.reply, "s", SPASMD_BUS_INTERFACE);
        if (r < 0)
                return r;
        r = read_dict(p.reply, &p, read_monitor_prop);
        if (r < 0) {
                sd_bus_message_unref(p.reply);
                return r;
        }
        *ret = p;
        return 0;
}

void monitor_props_done(struct monitor_props *p) {
        p->reply = sd_bus_message_unref(p->reply);
}

static int read_channels(sd_bus_message *m, struct sensor_props *s) {
        const char *c;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r > 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        while ((r = sd_bus_message_read_basic(m, 's', &c)) > 0) {
                const char **a = realloc(s->channels, (s->n_channels + 1) * sizeof *a);

                if (!a)
                        return -ENOMEM;
                s->channels = a;
                s->channels[s->n_channels++] = c;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

static int read_sensor_prop(sd_bus_message *m, const char *name, const char *sig, void *userdata) {
        struct sensor_props *s = userdata;

        if (is(name, sig, "Name", "s"))
                return sd_bus_message_read(m, "v", "s", &s->name);
        if (is(name, sig, "Uri", "s"))
                return sd_bus_message_read(m, "v", "s", &s->uri);
        if (is(name, sig, "Role", "s"))
                return sd_bus_message_read(m, "v", "s", &s->role);
        if (is(name, sig, "Channels", "as"))
                return read_channels(m, s);
        if (is(name, sig, "SampleRate", "d"))
                return sd_bus_message_read(m, "v", "d", &s->sample_rate);
        if (is(name, sig, "Connected", "b"))
                return read_bool(m, &s->connected);
        if (is(name, sig, "Status", "s"))
                return sd_bus_message_read(m, "v", "s", &s->status);
        if (is(name, sig, "DroppedSamples", "t"))
                return sd_bus_message_read(m, "v", "t", &s->dropped);
        if (is(name, sig, "NoiseFloor", "d"))
                return sd_bus_message_read(m, "v", "d", &s->noise_floor_uv);
        if (is(name, sig, "MainsHz", "d"))
                return sd_bus_message_read(m, "v", "d", &s->mains_hz);
        if (is(name, sig, "ElectrodeContact", "s"))
                return sd_bus_message_read(m, "v", "s", &s->contact);
        if (is(name, sig, "Activity", "d"))
                return sd_bus_message_read(m, "v", "d", &s->activity);
        return 0;
}

int props_read_sensor(sd_bus_message *m, struct sensor_props *s) {
        int r;

        *s = (struct sensor_props) { .path = "", .name = "", .uri = "", .role = "", .status = "", .contact = "" };
        r = read_dict(m, s, read_sensor_prop);
        if (r < 0)
                sensor_props_done(s);
        return r;
}

void sensor_props_done(struct sensor_props *s) {
        free(s->channels);
        s->channels = NULL;
        s->n_channels = 0;
}

static int compare_sensors(const void *a, const void *b) {
        return strcmp(((const struct sensor_props *) a)->name, ((const struct sensor_props *) b)->name);
}

int props_read_object(sd_bus_message *m, const char *path, struct sensor_list *l) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r <= 0)
                return bad(r);
        for (;;) {
                const char *iface;

                r = sd_bus_message_enter_container(m, 'e', "sa{sv}");
                if (r <= 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &iface);
                if (r >= 0 && strcmp(iface, SPASMD_SENSOR_INTERFACE) == 0) {
                        struct sensor_props *a = realloc(l->sensors, (l->n + 1) * sizeof *a);

                        if (!a)
                                return -ENOMEM;
                        l->sensors = a;
                        r = props_read_sensor(m, &l->sensors[l->n]);
                        if (r < 0)
                                return r;
                        l->sensors[l->n++].path = path;
                } else if (r >= 0)
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return bad(r);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? bad(r) : 0;
}

int props_get_sensors(sd_bus *bus, sd_bus_error *error, struct sensor_list *ret) {
        struct sensor_list l = { .reply = NULL };
        const char *path;
        int r;

        r = sd_bus_call_method(bus, SPASMD_BUS_NAME, SPASMD_BUS_PATH, OBJECT_MANAGER_INTERFACE, "GetManagedObjects",
                               error, &l.reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(l.reply, 'a', "{oa{sa{sv}}}");
        if (r == 0)
                r = -EBADMSG;
        while (r > 0) {
                r = sd_bus_message_enter_container(l.reply, 'e', "oa{sa{sv}}");
                if (r <= 0)
                        break;
                r = sd_bus_message_read_basic(l.reply, 'o', &path);
                if (r >= 0)
                        r = props_read_object(l.reply, path, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(l.reply);
                if (r >= 0)
                        r = 1;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(l.reply);
        if (r < 0) {
                sensor_list_done(&l);
                return bad(r);
        }
        if (l.n > 1)
                qsort(l.sensors, l.n, sizeof l.sensors[0], compare_sensors);
        *ret = l;
        return 0;
}

void sensor_list_done(struct sensor_list *l) {
        for (size_t i = 0; i < l->n; i++)
                sensor_props_done(&l->sensors[i]);
        free(l->sensors);
        sd_bus_message_unref(l->reply);
        *l = (struct sensor_list) { .reply = NULL };
}

static int compare_events(const void *a, const void *b) {
        const struct spasmd_event *x = a, *y = b;

        if (x->onset_usec != y->onset_usec)
                return x->onset_usec < y->onset_usec ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

int props_get_events(sd_bus *bus, uint64_t since_usec, uint32_t limit, sd_bus_error *error,
                     struct event_list *ret) {
        struct event_list l = { .reply = NULL };
        size_t cap = 0;
        int r;

        r = sd_bus_call_method(bus, SPASMD_BUS_NAME, SPASMD_BUS_PATH, SPASMD_BUS_INTERFACE, "GetEvents", error,
                               &l.reply, "tu", since_usec, limit);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(l.reply, 'a', EVENT_SIGNATURE);
        if (r == 0)
                r = -EBADMSG;
        while (r > 0) {
                struct spasmd_event e;

                event_init(&e);
                r = read_event(l.reply, &e);
                if (r <= 0)
                        break;
                if (l.n == cap) {
                        size_t c = cap ? 2 * cap : 64;
                        struct spasmd_event *a = realloc(l.events, c * sizeof *a);

                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        l.events = a;
                        cap = c;
                }
                l.events[l.n++] = e;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(l.reply);
        if (r < 0) {
                event_list_done(&l);
                return bad(r);
        }
        /*
         * spasmd answers in the order the events were saved, as they ended:
         * with several sensors an early onset can come after a later one.
         */
        if (l.n > 1)
                qsort(l.events, l.n, sizeof l.events[0], compare_events);
        *ret = l;
        return 0;
}

void event_list_done(struct event_list *l) {
        free(l->events);
        sd_bus_message_unref(l->reply);
        *l = (struct event_list) { .reply = NULL };
}

int props_failed(const struct bus_target *t, const char *verb, const char *what, int r, const sd_bus_error *error) {
        if (r == -EBADMSG && !sd_bus_error_is_set(error)) {
                fprintf(stderr, "spasmctl %s: %s: the reply is not shaped as spasmd-dbus(5) says\n"
                        "Is spasmd the same version as spasmctl? 'spasmctl --version' says which this is.\n",
                        verb, what);
                return EX_DATAERR;
        }
        if (r == -ENOMEM && !sd_bus_error_is_set(error)) {
                fprintf(stderr, "spasmctl %s: %s: out of memory\n", verb, what);
                return EX_OSERR;
        }
        return bus_call_failed(t, verb, what, r, error);
}

static void key(FILE *f, bool first, const char *name) {
        if (!first)
                fputc(',', f);
        json_write_string(f, name);
        fputc(':', f);
}

void props_json_event(FILE *f, const struct spasmd_event *e) {
        fprintf(f, "{\"id\":%" PRIu64, e->id);
        key(f, false, "class");
        json_write_string(f, e->class);
        key(f, false, "sensor");
        json_write_string(f, e->sensor);
        fprintf(f, ",\"onset_usec\":%" PRIu64 ",\"duration_usec\":%" PRIu64, e->onset_usec, e->duration_usec);
        key(f, false, "peak_uv");
        json_write_number(f, e->peak_uv, 3);
        key(f, false, "intensity");
        json_write_number(f, e->intensity, 3);
        key(f, false, "mvc_pct");
        json_write_number(f, e->mvc_pct, 3);
        key(f, false, "pulse_hz");
        json_write_number(f, e->pulse_hz, 3);
        key(f, false, "side");
        json_write_string(f, e->side);
        key(f, false, "posture");
        json_write_string(f, e->posture);
        fputc('}', f);
}

void props_json_sensor(FILE *f, const struct sensor_props *s) {
        fputc('{', f);
        key(f, true, "Name");
        json_write_string(f, s->name);
        key(f, false, "Uri");
        json_write_string(f, s->uri);
        key(f, false, "Role");
        json_write_string(f, s->role);
        key(f, false, "Channels");
        fputc('[', f);
        for (unsigned i = 0; i < s->n_channels; i++) {
                if (i)
                        fputc(',', f);
                json_write_string(f, s->channels[i]);
        }
        fputc(']', f);
        key(f, false, "SampleRate");
        json_write_number(f, s->sample_rate, 3);
        key(f, false, "Connected");
        fputs(s->connected ? "true" : "false", f);
        key(f, false, "Status");
        json_write_string(f, s->status);
        fprintf(f, ",\"DroppedSamples\":%" PRIu64, s->dropped);
        key(f, false, "NoiseFloor");
        json_write_number(f, s->noise_floor_uv, 3);
        key(f, false, "MainsHz");
        json_write_number(f, s->mains_hz, 1);
        key(f, false, "ElectrodeContact");
        json_write_string(f, s->contact);
        key(f, false, "Activity");
        json_write_number(f, s->activity, 3);
        fputc('}', f);
}

void props_print_wrapped(FILE *f, const char *text, unsigned first_column, unsigned indent, unsigned width) {
        unsigned col = first_column;
        bool line_empty = true;
        const char *p = text;

        if (width == 0)
                width = 80;
        for (;;) {
                size_t len;
                unsigned cols = 0;

                p += strspn(p, " ");
                if (*p == '\0')
                        break;
                if (*p == '\n') {
                        fprintf(f, "\n%*s", (int) indent, "");
                        col = indent;
                        line_empty = true;
                        p++;
                        continue;
                }
                len = strcspn(p, " \n");
                /* Columns, not bytes: a UTF-8 continuation byte takes none. */
                for (size_t i = 0; i < len; i++)
                        cols += ((unsigned char) p[i] & 0xC0) != 0x80;
                if (!line_empty && col + 1 + cols >= width) {
                        fprintf(f, "\n%*s", (int) indent, "");
                        col = indent;
                        line_empty = true;
                }
                if (!line_empty) {
                        fputc(' ', f);
                        col++;
                }
                fwrite(p, 1, len, f);
                col += cols;
                line_empty = false;
                p += len;
        }
        fputc('\n', f);
}

/* Display columns: "µ" and "×" take one each, but two bytes. */
static size_t width_of(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xC0) != 0x80;
        return n;
}

int props_cell(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

void props_print_table(FILE *f, const char *const *headers, unsigned n_cols, uint32_t right_mask,
                       char *const *cells, size_t n_rows) {
        size_t widths[32] = { 0 };

        if (n_cols > 32)
                n_cols = 32;
        for (unsigned c = 0; c < n_cols; c++)
                widths[c] = width_of(headers[c]);
        for (size_t i = 0; i < n_rows; i++)
                for (unsigned c = 0; c < n_cols; c++)
                        if (width_of(cells[i * n_cols + c]) > widths[c])
                                widths[c] = width_of(cells[i * n_cols + c]);
        for (size_t i = 0; i <= n_rows; i++)
                for (unsigned c = 0; c < n_cols; c++) {
                        const char *s = i == 0 ? headers[c] : cells[(i - 1) * n_cols + c];
                        int pad = (int) (widths[c] - width_of(s));

                        if (c == n_cols - 1)
                                fprintf(f, "%*s%s\n", right_mask & (1u << c) ? pad : 0, "", s);
                        else if (right_mask & (1u << c))
                                fprintf(f, "%*s%s  ", pad, "", s);
                        else
                                fprintf(f, "%s%*s  ", s, pad, "");
                }
}
