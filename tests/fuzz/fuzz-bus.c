/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The D-Bus interface (daemon/bus.c, daemon/bus-sensor.c): method calls
 * with random members, paths, signatures and bodies against the real
 * objects, with the daemon's side stubbed.
 *
 * Once per process, bus_new() connects to a socket this target listens
 * on; the target plays the bus daemon on the other end (an sd-bus server
 * connection that answers Hello), so each input is dispatched in process,
 * deterministically, with no dbus-daemon. The stubbed bus_ops answer from
 * the input too: events to list, errors, a calibration to start.
 *
 * Input: a sequence of operations, each a method call (to Monitor1,
 * Properties, Introspectable, Peer, ObjectManager, a Sensor1 object or
 * nowhere), a change of state the daemon would make (bus_set_*(),
 * bus_emit_*(), sensors coming and going), or the end of a calibration.
 *
 * Checked beyond the sanitizers:
 *   - every call gets exactly one reply, a return or an error, and the
 *     daemon's connection stays up;
 *   - GetEvents, Calibrate and SetMonitoring answer as spasmd-dbus(5) says
 *     for the arguments and the daemon's answer they got.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-internal.h"
#include "bus.h"
#include "fuzz-util.h"
#include "macro.h"

#define MAX_CALLS 24
#define MAX_EVENTS 6
#define ERR "org.spasmd.Error."
#define SENSOR_IFACE "org.spasmd.Sensor1"

static sd_event *event;
static struct bus *bus;
static sd_bus *peer;    /* our end: the "bus daemon" */

/*
 * Known bugs, reported and not fixed yet, that this target would otherwise
 * hit again at once (tests/fuzz/crashes/pending/bus/ reproduces them with
 * SPASMD_FUZZ_PENDING=1): bus_calibration_done() drops the Calibrate call
 * without an answer when a level's name is not UTF-8. Until then the
 * calibration levels here are valid UTF-8.
 */
static bool pending_bugs;

/* What the stubs do for the current input (between inputs: nothing, zeros). */
static struct fuzz_in none;
static struct fuzz_in *cur = &none;
static bool calibration_started;
static int events_given;           /* how many GetEvents got from the stub, -1: an error */

/* --- the daemon's side, stubbed ---------------------------------------------------- */

static void random_text(struct fuzz_in *in, char *buf, size_t size, bool anything) {
        uint8_t how = fuzz_u8(in);
        static const char *const plain[] = { "lumbar", "left", "right", "both", "unknown", "", "emg_left" };
        if (how < 240 || !anything)
                snprintf(buf, size, "%s", plain[how % 7]);
        else
                /* Anything, invalid UTF-8 included: sd-bus refuses it, the call must still get a reply. */
                fuzz_string(in, buf, size - 1);
}

static int stub_get_events(void *userdata, uint64_t since_usec, unsigned limit, struct event_record **ret,
                           size_t *n) {
        uint8_t how = fuzz_u8(cur);
        (void) userdata;
        (void) since_usec;

        *ret = NULL;
        *n = 0;
        if (how >= 240) {
                events_given = -1;
                return how & 1 ? -EIO : -ENOMEM;
        }
        size_t count = how % (MAX_EVENTS + 1);
        if (count > limit)
                count = limit;
        if (count > 0) {
                struct event_record *v = calloc(count, sizeof(*v));
                if (!v)
                        abort();
                for (size_t i = 0; i < count; i++) {
                        v[i].id = fuzz_u8(cur) ? fuzz_u64(cur) : 0;
                        v[i].class = (enum spasm_class) fuzz_range(cur, 0, SPASM_CLASS_WITHDRAWN);
                        v[i].posture = (enum spasm_posture) fuzz_range(cur, 0, SPASM_POSTURE_STANDING);
                        v[i].onset_usec = fuzz_u64(cur);
                        v[i].duration_usec = fuzz_u32(cur);
                        v[i].peak_uv = fuzz_float_bits(cur);
                        v[i].intensity = fuzz_float_bits(cur);
                        v[i].mvc_pct = -1.0f;
                        random_text(cur, v[i].sensor, sizeof(v[i].sensor), true);
                        random_text(cur, v[i].side, sizeof(v[i].side), true);
                }
                *ret = v;
        }
        *n = count;
        events_given = (int) count;
        return 0;
}

static int stub_calibrate(void *userdata, const char *kind) {
        static const int answers[] = { 0, -ENODEV, -ESRCH, -EBUSY, -EIO, -EPERM };
        (void) userdata;
        fuzz_check(strcmp(kind, "rest") == 0 || strcmp(kind, "max") == 0, "calibrate(%s) got through", kind);
        int r = answers[fuzz_u8(cur) % 6];
        if (r == 0)
                calibration_started = true;
        return r;
}

static int stub_reset_calibration(void *userdata) {
        (void) userdata;
        return fuzz_u8(cur) % 4 == 3 ? -EIO : 0;
}

static int stub_set_monitoring(void *userdata, bool on) {
        (void) userdata;
        if (fuzz_u8(cur) % 4 == 3)
                return -EROFS;
        /* As the manager does: the property follows. */
        bus_set_monitoring(bus, on);
        return 0;
}

static double stub_activity(void *userdata, const char *sensor) {
        (void) userdata;
        (void) sensor;
        return fuzz_u8(cur) < 200 ? fuzz_u8(cur) / 16.0 : fuzz_double_bits(cur);
}

static const struct bus_ops ops = {
        .get_events = stub_get_events,
        .calibrate = stub_calibrate,
        .reset_calibration = stub_reset_calibration,
        .set_monitoring = stub_set_monitoring,
        .activity = stub_activity,
};

/* --- the bus daemon's side ------------------------------------------------------- */

static int method_hello(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (void) userdata;
        (void) error;
        return sd_bus_reply_method_return(m, "s", ":1.1");
}

static const sd_bus_vtable dbus_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", "", "s", method_hello, 0),
        SD_BUS_VTABLE_END,
};

/* Let both ends work until nothing moves. */
static void pump(void) {
        for (int idle = 0, i = 0; idle < 3 && i < 10000; i++) {
                int a = sd_bus_process(peer, NULL);
                int b = sd_event_run(event, 0);
                fuzz_check(a >= 0, "our end of the bus failed: %s", strerror(-a));
                fuzz_check(b >= 0, "the daemon's event loop failed: %s", strerror(-b));
                idle = a == 0 && b == 0 ? idle + 1 : 0;
        }
}

static void die(const char *what, int r) {
        fprintf(stderr, "fuzz-bus: %s: %s\n", what, strerror(r < 0 ? -r : r));
        abort();
}

static void add_sensor(const char *name, const char *uri) {
        static const char *const channels[] = { "emg_left", "emg_right" };
        struct bus_sensor_info info = {
                .uri = uri, .role = "emg", .channels = channels, .n_channels = 2, .sample_rate = 1000,
                .connected = true, .status = "streaming", .contact = "good",
        };
        (void) bus_sensor_add(bus, name, &info);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char address[128];
        int r, lfd, fd;
        (void) argc;
        (void) argv;

        pending_bugs = true; /* the bugs once gated here are fixed: every input is checked */

        /* An abstract socket: nothing on disk to clean up, and the pid keeps parallel runs apart. */
        int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "spasmd-fuzz-bus-%d", (int) getpid());
        snprintf(address, sizeof(address), "unix:abstract=%s", sa.sun_path + 1);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
            listen(lfd, 1) < 0)
                die("listen", errno);

        r = sd_event_new(&event);
        if (r < 0)
                die("sd_event_new", r);
        /* A unix socket connects at once, so bus_new() returns with Hello queued. */
        r = bus_new(event, address, &ops, NULL, &bus);
        if (r < 0)
                die("bus_new", r);
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                die("accept", errno);
        close(lfd);

        sd_id128_t id = { .bytes = { 's', 'p', 'a', 's', 'm', 'd', '-', 'f', 'u', 'z', 'z' } };
        r = sd_bus_new(&peer);
        if (r >= 0)
                r = sd_bus_set_fd(peer, fd, fd);
        if (r >= 0)
                r = sd_bus_set_server(peer, 1, id);
        if (r >= 0)
                r = sd_bus_add_object_vtable(peer, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus", dbus_vtable,
                                             NULL);
        if (r >= 0)
                r = sd_bus_start(peer);
        if (r < 0)
                die("our end of the bus", r);

        for (int i = 0; i < 100; i++) {
                const char *unique = NULL;
                pump();
                if (sd_bus_get_unique_name(bus->bus, &unique) >= 0 && unique)
                        break;
        }
        const char *unique = NULL;
        if (sd_bus_get_unique_name(bus->bus, &unique) < 0 || !unique)
                die("the daemon's side never got through Hello", EPROTO);

        add_sensor("lumbar", "local:");
        add_sensor("imu", "ip:127.0.0.1");
        pump();
        return 0;
}

/* --- bodies --------------------------------------------------------------------- */

/* A random complete type into sig (NUL-terminated); false if it would not fit. */
static bool random_type(struct fuzz_in *in, char *sig, size_t *len, size_t max, int depth) {
        static const char basic[] = "ybnqiuxtdsogv";
        uint8_t c = fuzz_u8(in);

        if (*len + 4 >= max)
                return false;
        if (depth >= 3 || c % 16 < 13) {
                sig[(*len)++] = basic[c % 13];
                sig[*len] = '\0';
                return true;
        }
        if (c % 16 == 13) {
                sig[(*len)++] = 'a';
                return random_type(in, sig, len, max, depth + 1);
        }
        if (c % 16 == 14) {
                /* a dict: basic key, any value */
                sig[(*len)++] = 'a';
                sig[(*len)++] = '{';
                sig[(*len)++] = basic[fuzz_u8(in) % 12]; /* not 'v': a key is basic */
                if (!random_type(in, sig, len, max, depth + 1))
                        return false;
                sig[(*len)++] = '}';
                sig[*len] = '\0';
                return true;
        }
        sig[(*len)++] = '(';
        unsigned members = 1 + fuzz_u8(in) % 3;
        for (unsigned i = 0; i < members; i++)
                if (!random_type(in, sig, len, max, depth + 1))
                        return false;
        if (*len + 2 >= max)
                return false;
        sig[(*len)++] = ')';
        sig[*len] = '\0';
        return true;
}

/* Length of the complete type at s. */
static size_t type_len(const char *s) {
        if (*s == 'a')
                return 1 + type_len(s + 1);
        if (*s == '(' || *s == '{') {
                char close = *s == '(' ? ')' : '}';
                size_t i = 1;
                while (s[i] && s[i] != close)
                        i += type_len(s + i);
                return i + 1;
        }
        return 1;
}

static int append_value(sd_bus_message *m, struct fuzz_in *in, const char *t, int depth);

static int append_basic(sd_bus_message *m, struct fuzz_in *in, char t) {
        static const char *const paths[] = { "/", BUS_PATH, BUS_PATH "/sensor/lumbar", "/a/b" };
        static const char *const sigs[] = { "", "s", "a{sv}", "(tsst)" };
        char s[80];
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
        } v;

        switch (t) {
        case 'y': v.y = fuzz_u8(in); return sd_bus_message_append_basic(m, t, &v.y);
        case 'b': v.b = fuzz_u8(in) % 3; return sd_bus_message_append_basic(m, t, &v.b);
        case 'n': v.n = (int16_t) fuzz_u16(in); return sd_bus_message_append_basic(m, t, &v.n);
        case 'q': v.q = fuzz_u16(in); return sd_bus_message_append_basic(m, t, &v.q);
        case 'i': v.i = (int32_t) fuzz_u32(in); return sd_bus_message_append_basic(m, t, &v.i);
        case 'u': v.u = fuzz_u32(in); return sd_bus_message_append_basic(m, t, &v.u);
        case 'x': v.x = (int64_t) fuzz_u64(in); return sd_bus_message_append_basic(m, t, &v.x);
        case 't': v.t = fuzz_u64(in); return sd_bus_message_append_basic(m, t, &v.t);
        case 'd': v.d = fuzz_double_bits(in); return sd_bus_message_append_basic(m, t, &v.d);
        case 's': fuzz_string(in, s, 64); return sd_bus_message_append_basic(m, t, s);
        case 'o': return sd_bus_message_append_basic(m, t, paths[fuzz_u8(in) % 4]);
        case 'g': return sd_bus_message_append_basic(m, t, sigs[fuzz_u8(in) % 4]);
        }
        return -EINVAL;
}

static int append_value(sd_bus_message *m, struct fuzz_in *in, const char *t, int depth) {
        char inner[64];
        size_t n;
        int r;

        switch (*t) {
        case 'a':
                n = type_len(t + 1);
                snprintf(inner, sizeof(inner), "%.*s", (int) n, t + 1);
                r = sd_bus_message_open_container(m, 'a', inner);
                for (unsigned i = 0, count = fuzz_u8(in) % 4; r >= 0 && i < count; i++)
                        r = append_value(m, in, inner, depth + 1);
                return r < 0 ? r : sd_bus_message_close_container(m);
        case '(':
        case '{':
                n = type_len(t);
                snprintf(inner, sizeof(inner), "%.*s", (int) n - 2, t + 1);
                r = sd_bus_message_open_container(m, *t == '(' ? 'r' : 'e', inner);
                for (const char *p = inner; r >= 0 && *p; p += type_len(p))
                        r = append_value(m, in, p, depth + 1);
                return r < 0 ? r : sd_bus_message_close_container(m);
        case 'v': {
                char sig[32];
                size_t len = 0;
                if (depth > 4 || !random_type(in, sig, &len, sizeof(sig), 2))
                        snprintf(sig, sizeof(sig), "s");
                r = sd_bus_message_open_container(m, 'v', sig);
                if (r >= 0)
                        r = append_value(m, in, sig, depth + 1);
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        default:
                return append_basic(m, in, *t);
        }
}

/* --- calls ---------------------------------------------------------------------- */

enum call_kind { CALL_OTHER, CALL_GET_EVENTS, CALL_CALIBRATE, CALL_SET_MONITORING };

struct call {
        enum call_kind kind;
        bool replied;
        bool pending_ok;          /* a Calibrate that started: its answer comes later */
        sd_bus_message *reply;
        /* what the arguments were, when they were the right ones */
        bool typed;
        uint32_t limit;
        char kind_arg[80];
};

static struct call calls[MAX_CALLS];
static unsigned n_calls;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct call *c = userdata;
        (void) error;
        fuzz_check(!c->replied, "a second reply to one call");
        c->replied = true;
        c->reply = sd_bus_message_ref(m);
        return 0;
}

static const char *error_name(const struct call *c) {
        return sd_bus_message_is_method_error(c->reply, NULL) ? sd_bus_message_get_error(c->reply)->name : NULL;
}

/* What spasmd-dbus(5) says the answer to a call with the right signature is. */
static void check_reply(struct call *c, int given) {
        const char *e = error_name(c);

        if (!c->typed)
                return;
        switch (c->kind) {
        case CALL_GET_EVENTS:
                if (e && strcmp(e, ERR "RateLimited") == 0)
                        break; /* refused before it was looked at: always a valid answer */
                if (c->limit == 0)
                        fuzz_check(e && strcmp(e, ERR "InvalidArgument") == 0, "GetEvents(limit 0): %s", e ? e : "ok");
                else if (c->limit > BUS_GET_EVENTS_MAX)
                        fuzz_check(e && strcmp(e, ERR "LimitExceeded") == 0, "GetEvents(limit %u): %s", c->limit,
                                   e ? e : "ok");
                else if (given < 0)
                        fuzz_check(e && strcmp(e, ERR "HistoryUnavailable") == 0, "GetEvents, history error: %s",
                                   e ? e : "ok");
                else if (!e) {
                        unsigned n = 0;
                        int r = sd_bus_message_enter_container(c->reply, 'a', "(tssttddddss)");
                        fuzz_check(r > 0, "GetEvents answered with signature %s",
                                   sd_bus_message_get_signature(c->reply, true));
                        while ((r = sd_bus_message_skip(c->reply, "(tssttddddss)")) > 0)
                                n++;
                        fuzz_check(r == 0 && (int) n == given, "GetEvents returned %u of %d events", n, given);
                }
                break;
        case CALL_CALIBRATE:
                if (strcmp(c->kind_arg, "rest") != 0 && strcmp(c->kind_arg, "max") != 0)
                        fuzz_check(e && strcmp(e, ERR "UnknownKind") == 0, "Calibrate(\"%s\"): %s", c->kind_arg,
                                   e ? e : "ok");
                break;
        case CALL_SET_MONITORING:
        case CALL_OTHER:
                break;
        }
}

static const char *pick_path(struct fuzz_in *in) {
        static const char *const paths[] = {
                BUS_PATH, BUS_PATH, BUS_PATH, BUS_PATH "/sensor/lumbar", BUS_PATH "/sensor/imu",
                BUS_PATH "/sensor/nope", BUS_PATH "/sensor", "/org/spasmd", "/", "/org/spasmd/Monitor1x",
        };
        return paths[fuzz_u8(in) % 10];
}

static const char *pick_iface(struct fuzz_in *in) {
        static const char *const ifaces[] = {
                BUS_NAME, "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable",
                "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.ObjectManager", SENSOR_IFACE, "org.spasmd.Nope",
                NULL,
        };
        return ifaces[fuzz_u8(in) % 8];
}

static const char *pick_member(struct fuzz_in *in, const char **sig) {
        static const struct {
                const char *member, *sig;
        } members[] = {
                { "GetEvents", "tu" }, { "Calibrate", "s" }, { "ResetCalibration", "" }, { "SetMonitoring", "b" },
                { "Get", "ss" }, { "GetAll", "s" }, { "Set", "ssv" }, { "Introspect", "" }, { "Ping", "" },
                { "GetMachineId", "" }, { "GetManagedObjects", "" }, { "Nope", "" },
        };
        unsigned i = fuzz_u8(in) % 12;
        *sig = members[i].sig;
        return members[i].member;
}

/* Property and interface names that exist, and some that do not. */
static const char *pick_name(struct fuzz_in *in) {
        static const char *const names[] = {
                BUS_NAME, SENSOR_IFACE, "State", "Monitoring", "ActiveEvent", "SpasmsToday", "LastEvent",
                "Calibrated", "ActiveAdvisory", "HistoryStatus", "Version", "Name", "Uri", "Channels", "Activity",
                "NoiseFloor", "", "org.freedesktop.DBus.Properties", "Nope",
        };
        return names[fuzz_u8(in) % 19];
}

static void make_call(struct fuzz_in *in, uint8_t op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *sig, *path = pick_path(in), *iface, *member = pick_member(in, &sig);
        struct call *c = &calls[n_calls];
        int r;

        /* Mostly the interface that has the member, so that the call gets as far as the handler. */
        if (op & 0x10)
                iface = pick_iface(in);
        else if (strcmp(sig, "tu") == 0 || strcmp(member, "Calibrate") == 0 || strcmp(member, "SetMonitoring") == 0 ||
                 strcmp(member, "ResetCalibration") == 0)
                iface = BUS_NAME;
        else if (member[0] == 'G' && member[1] == 'e' && member[2] == 't' && member[3] != 'M')
                iface = "org.freedesktop.DBus.Properties";
        else if (strcmp(member, "Introspect") == 0)
                iface = "org.freedesktop.DBus.Introspectable";
        else if (strcmp(member, "GetManagedObjects") == 0)
                iface = "org.freedesktop.DBus.ObjectManager";
        else if (strcmp(member, "Set") == 0)
                iface = "org.freedesktop.DBus.Properties";
        else
                iface = "org.freedesktop.DBus.Peer";

        /* With a destination: a bus client takes a call without one for a broadcast and ignores it. */
        r = sd_bus_message_new_method_call(peer, &m, op & 0x40 ? ":1.1" : BUS_NAME, path, iface, member);
        if (r < 0)
                die("new_method_call", r);
        /* A unique name per call, never reused, as a bus daemon gives each connection: the
         * daemon limits GetEvents per client, and one client calling thousands of times a
         * second would only ever hear RateLimited. */
        static unsigned long next_client = 2;
        char sender[32];
        snprintf(sender, sizeof(sender), ":1.%lu", next_client++);
        r = sd_bus_message_set_sender(m, sender);
        if (r < 0)
                die("set_sender", r);

        memset(c, 0, sizeof(*c));
        c->kind = strcmp(member, "GetEvents") == 0       ? CALL_GET_EVENTS
                : strcmp(member, "Calibrate") == 0       ? CALL_CALIBRATE
                : strcmp(member, "SetMonitoring") == 0   ? CALL_SET_MONITORING
                                                         : CALL_OTHER;
        c->typed = !(op & 0x20) && strcmp(path, BUS_PATH) == 0 && iface && strcmp(iface, BUS_NAME) == 0;

        if (op & 0x20) {
                /* A random signature and body. */
                char rsig[64];
                size_t len = 0;
                unsigned args = fuzz_u8(in) % 4;
                for (unsigned i = 0; i < args; i++) {
                        size_t complete = len;
                        if (!random_type(in, rsig, &len, sizeof(rsig), 0)) {
                                len = complete; /* drop the type that did not fit: only whole ones */
                                break;
                        }
                }
                rsig[len] = '\0';
                for (const char *p = rsig; r >= 0 && *p; p += type_len(p))
                        r = append_value(m, in, p, 0);
        } else if (strcmp(sig, "tu") == 0) {
                uint64_t since = fuzz_u64(in);
                uint8_t how = fuzz_u8(in);
                c->limit = how < 32 ? 0u : how < 64 ? fuzz_u32(in) : how < 96 ? BUS_GET_EVENTS_MAX + how % 2u : how % 16u;
                r = sd_bus_message_append(m, "tu", since, c->limit);
        } else if (strcmp(sig, "s") == 0 && c->kind == CALL_CALIBRATE) {
                static const char *const kinds[] = { "rest", "max", "Rest", "", "rest ", "maximum" };
                uint8_t how = fuzz_u8(in);
                if (how < 240)
                        snprintf(c->kind_arg, sizeof(c->kind_arg), "%s", kinds[how % 6]);
                else
                        fuzz_string(in, c->kind_arg, 64);
                r = sd_bus_message_append(m, "s", c->kind_arg);
        } else {
                /* The member's own signature, with names that may or may not exist. */
                for (const char *p = sig; r >= 0 && *p; p++)
                        if (*p == 's')
                                r = sd_bus_message_append(m, "s", pick_name(in));
                        else
                                r = append_value(m, in, p, 0);
        }
        if (r < 0)
                return; /* a body sd-bus will not build (invalid UTF-8, say): no call */

        r = sd_bus_call_async(peer, NULL, m, on_reply, c, 0);
        if (r < 0)
                die("call_async", r);
        n_calls++;
        events_given = 0;
        calibration_started = false;
        pump();
        /* The stubs ran during pump(): now we know what the daemon answered. */
        if (c->kind == CALL_CALIBRATE && calibration_started) {
                fuzz_check(!c->replied, "Calibrate answered before the calibration ended");
                c->pending_ok = true;
                return;
        }
        fuzz_check(c->replied, "call %u (%s.%s on %s) got no reply", n_calls, iface ? iface : "-", member, path);
        check_reply(c, events_given);
}

/* The end of a calibration, as the manager reports it. */
static void end_calibration(struct fuzz_in *in) {
        uint8_t how = fuzz_u8(in);
        if (how & 1) {
                struct calibration_level levels[3];
                size_t n = how / 2 % 4;
                for (size_t i = 0; i < n && i < 3; i++) {
                        random_text(in, levels[i].sensor, sizeof(levels[i].sensor), pending_bugs);
                        random_text(in, levels[i].channel, sizeof(levels[i].channel), pending_bugs);
                        levels[i].level_uv = fuzz_double_bits(in);
                }
                bus_calibration_done(bus, levels, n < 3 ? n : 3);
        } else {
                static const int errors[] = { -ENODEV, -EBUSY, -ESRCH, -EIO };
                bus_calibration_failed(bus, errors[how / 2 % 4], "the calibration did not work out");
        }
        pump();
}

/* What the daemon changes as it runs: properties, signals, sensors. */
static void change_state(struct fuzz_in *in) {
        char a[80], b[80];
        struct event_record r = { .mvc_pct = -1.0f };

        random_text(in, a, sizeof(a), true);
        random_text(in, b, sizeof(b), true);
        switch (fuzz_u8(in) % 12) {
        case 0: bus_set_state(bus, a); break;
        case 1: bus_set_active_event(bus, fuzz_u64(in), a, b, fuzz_u64(in)); break;
        case 2: bus_set_spasms_today(bus, fuzz_u32(in)); break;
        case 3:
                r.id = fuzz_u64(in);
                r.class = (enum spasm_class) fuzz_range(in, 0, SPASM_CLASS_WITHDRAWN);
                snprintf(r.sensor, sizeof(r.sensor), "%.63s", a);
                snprintf(r.side, sizeof(r.side), "%.7s", b);
                r.peak_uv = fuzz_float_bits(in);
                bus_set_last_event(bus, &r);
                bus_emit_event_ended(bus, &r);
                break;
        case 4: bus_set_calibrated(bus, fuzz_bool(in)); break;
        case 5: bus_set_advisory(bus, a, b, fuzz_u64(in)); break;
        case 6: bus_set_history_status(bus, a); break;
        case 7: bus_emit_activity_started(bus, fuzz_u64(in), a, fuzz_u64(in), b); break;
        case 8: bus_emit_spasm_started(bus, fuzz_u64(in), a, fuzz_u64(in), b, fuzz_double_bits(in)); break;
        case 9: bus_emit_advisory(bus, a, b, fuzz_u64(in)); break;
        case 10: {
                const char *name = fuzz_bool(in) ? "lumbar" : "imu";
                bus_sensor_remove(bus, name);
                if (fuzz_bool(in))
                        add_sensor(name, a);
                break;
        }
        case 11: {
                static const char *const channels[] = { "emg_left", "emg_right", "acc_x" };
                struct bus_sensor_info info = {
                        .uri = a, .role = "emg", .channels = channels, .n_channels = fuzz_range(in, 0, 3),
                        .sample_rate = fuzz_double_bits(in), .connected = fuzz_bool(in), .status = b,
                        .dropped = fuzz_u64(in), .noise_floor_uv = fuzz_double_bits(in), .contact = a,
                };
                bus_sensor_update(bus, fuzz_bool(in) ? "lumbar" : "nope", &info);
                break;
        }
        }
        pump();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_in in = { data, size };

        if (!bus)
                LLVMFuzzerInitialize(NULL, NULL);
        cur = &in;
        n_calls = 0;
        while (fuzz_left(&in) > 0 && n_calls < MAX_CALLS) {
                uint8_t op = fuzz_u8(&in);
                switch (op % 8) {
                case 6:
                        change_state(&in);
                        break;
                case 7:
                        end_calibration(&in);
                        break;
                default:
                        make_call(&in, op);
                }
        }
        /* Whatever calibration is still running ends now, so that its call is answered too. */
        end_calibration(&in);
        for (unsigned i = 0; i < n_calls; i++) {
                fuzz_check(calls[i].replied, "call %u never got a reply", i + 1);
                sd_bus_message_unref(calls[i].reply);
        }
        fuzz_check(sd_bus_is_open(bus->bus) > 0, "the daemon's connection closed");
        /* The next input starts from the same state, so that an input replays as it ran. */
        static const struct event_record no_event = { .mvc_pct = -1.0f };
        cur = &none;
        bus_set_state(bus, "idle");
        bus_set_monitoring(bus, false);
        bus_set_active_event(bus, 0, "", "", 0);
        bus_set_spasms_today(bus, 0);
        bus_set_last_event(bus, &no_event);
        bus_set_calibrated(bus, false);
        bus_set_advisory(bus, "", "", 0);
        bus_set_history_status(bus, "saving");
        bus_sensor_remove(bus, "lumbar");
        bus_sensor_remove(bus, "imu");
        add_sensor("lumbar", "local:");
        add_sensor("imu", "ip:127.0.0.1");
        pump();
        return 0;
}
