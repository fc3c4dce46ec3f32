/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-internal.h"
#include "macro.h"
#include "log.h"
#include "ratelimit.h"

#define ERROR_PREFIX "org.spasmd.Error."
#define EVENT_SIG "(tssttddddss)"

/* Every method is open as far as sd-bus goes: who may call what is the bus
 * policy's business (conf/org.spasmd.Monitor1.conf), so that members of the
 * spasmd group can calibrate without a capability. */
#define OPEN SD_BUS_VTABLE_UNPRIVILEGED

static int append_event(sd_bus_message *m, const struct event_record *r) {
        return sd_bus_message_append(m, EVENT_SIG, r->id, r->id ? spasm_class_to_string(r->class) : "", r->sensor,
                                     r->onset_usec, r->duration_usec, (double) r->peak_uv, (double) r->intensity,
                                     (double) r->mvc_pct, (double) r->pulse_hz, r->side,
                                     r->id ? spasm_posture_to_string(r->posture) : "");
}

/*
 * GetEvents reads records back from the history file and checks them,
 * newest first (make bench: up to 12 ms for the 10000 a call may ask for,
 * from a full 64 MiB file), on the loop
 * that also runs the detectors, so anyone may call it but no one may keep
 * the loop busy with it. Per connection: 20 calls at once, then 10 a
 * second; 50000 events at once, then 20000 a second; 1 s of the loop at
 * once, then 200 ms a second. All connections together: the same 1 s, then
 * 200 ms a second, since opening more connections is cheap. Root is not
 * exempt: the limits are far above what a client that reads the history
 * needs, and telling root apart would cost a round trip to the bus on
 * every call.
 */
static const struct ratelimit_config get_events_limits = {
        .client = {
                [RATELIMIT_CALLS] = { .burst = 20, .per_s = 10 },
                [RATELIMIT_ROWS] = { .burst = 50000, .per_s = 20000 },
                [RATELIMIT_BUSY] = { .burst = 1000000, .per_s = 200000 },
        },
        .total_busy = { .burst = 1000000, .per_s = 200000 },
};

static uint64_t monotonic_usec(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t) t.tv_sec * 1000000 + (uint64_t) t.tv_nsec / 1000;
}

static int refuse_get_events(struct bus *b, sd_bus_message *m, sd_bus_error *error, uint64_t now,
                             uint64_t wait_usec, enum ratelimit_kind why) {
        /* Once a minute at most: a flood must not become a flood of log lines. */
        if (b->get_events_logged_usec == 0 || now - b->get_events_logged_usec >= 60 * 1000000ULL) {
                uint64_t n = ratelimit_take_refused(&b->get_events_limit);
                const char *sender = sd_bus_message_get_sender(m);
                log_notice("GetEvents: %llu call%s refused as too frequent since the last such line (the latest "
                           "from %s); one line a minute at most", (unsigned long long) n, n == 1 ? "" : "s",
                           sender ? sender : "a direct connection");
                b->get_events_logged_usec = now;
        }
        unsigned long long ms = wait_usec / 1000 + 1;
        switch (why) {
        case RATELIMIT_ROWS:
                return sd_bus_error_setf(error, ERROR_PREFIX "RateLimited",
                                         "too many events asked for with GetEvents; wait %llu ms", ms);
        case RATELIMIT_BUSY:
                return sd_bus_error_setf(error, ERROR_PREFIX "RateLimited",
                                         "GetEvents calls kept spasmd too busy; wait %llu ms", ms);
        case RATELIMIT_TOTAL_BUSY:
                return sd_bus_error_setf(error, ERROR_PREFIX "RateLimited",
                                         "too many GetEvents calls from all clients; wait %llu ms", ms);
        default:
                return sd_bus_error_setf(error, ERROR_PREFIX "RateLimited", "too many GetEvents calls; wait %llu ms",
                                         ms);
        }
}

static int method_get_events(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct event_record *events = NULL;
        struct ratelimit_client *client;
        enum ratelimit_kind why;
        uint64_t since, wait_usec, start = monotonic_usec();
        uint32_t limit;
        size_t n = 0;
        int r;

        /* Before anything else, so that even malformed calls count. */
        if (ratelimit_admit(&b->get_events_limit, sd_bus_message_get_sender(m), start, &client, &wait_usec, &why) < 0)
                return refuse_get_events(b, m, error, start, wait_usec, why);

        r = sd_bus_message_read(m, "tu", &since, &limit);
        if (r < 0)
                return r;
        if (limit == 0)
                return sd_bus_error_set(error, ERROR_PREFIX "InvalidArgument", "limit must be 1 or more");
        if (limit > BUS_GET_EVENTS_MAX)
                return sd_bus_error_setf(error, ERROR_PREFIX "LimitExceeded",
                                         "limit %u is over %d; page with since_usec instead", limit,
                                         BUS_GET_EVENTS_MAX);
        r = b->ops->get_events(b->userdata, since, limit, &events, &n);
        if (r < 0) {
                ratelimit_charge(&b->get_events_limit, client, 0, monotonic_usec() - start);
                return sd_bus_error_setf(error, ERROR_PREFIX "HistoryUnavailable",
                                         "the event history cannot be read: %s", strerror(-r));
        }
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', EVENT_SIG);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_event(reply, &events[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        free(events);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        ratelimit_charge(&b->get_events_limit, client, n, monotonic_usec() - start);
        return r;
}

static int method_calibrate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *kind;
        int r;

        r = sd_bus_message_read(m, "s", &kind);
        if (r < 0)
                return r;
        if (strcmp(kind, "rest") != 0 && strcmp(kind, "max") != 0)
                return sd_bus_error_setf(error, ERROR_PREFIX "UnknownKind",
                                         "unknown calibration kind \"%.64s\"; use \"rest\" or \"max\"", kind);
        if (b->calibrate_call)
                return sd_bus_error_set(error, ERROR_PREFIX "Busy", "a calibration is already running");
        r = b->ops->calibrate(b->userdata, kind);
        if (r == -ENODEV)
                return sd_bus_error_set(error, ERROR_PREFIX "NoSensor", "no EMG sensor is streaming");
        if (r == -ESRCH)
                return sd_bus_error_set(error, ERROR_PREFIX "NotMonitoring",
                                        "monitoring is paused; SetMonitoring(true) first");
        if (r == -EBUSY)
                return sd_bus_error_set(error, ERROR_PREFIX "Busy", "a calibration is already running");
        if (r < 0)
                return r;
        /* The answer comes when the measurement is done. */
        b->calibrate_call = sd_bus_message_ref(m);
        return 1;
}

static int method_reset_calibration(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        (void) error;
        int r = b->ops->reset_calibration(b->userdata);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_set_monitoring(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        int on, r;
        (void) error;

        r = sd_bus_message_read(m, "b", &on);
        if (r < 0)
                return r;
        r = b->ops->set_monitoring(b->userdata, on);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

static int get_property(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        (void) bus;
        (void) path;
        (void) interface;
        (void) error;

        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", b->state);
        if (strcmp(property, "Monitoring") == 0)
                return sd_bus_message_append(reply, "b", b->monitoring);
        if (strcmp(property, "ActiveEvent") == 0)
                return sd_bus_message_append(reply, "(tsst)", b->active.id, b->active.class, b->active.sensor,
                                             b->active.onset_usec);
        if (strcmp(property, "SpasmsToday") == 0)
                return sd_bus_message_append(reply, "u", b->spasms_today);
        if (strcmp(property, "LastEvent") == 0)
                return append_event(reply, &b->last);
        if (strcmp(property, "Calibrated") == 0)
                return sd_bus_message_append(reply, "b", b->calibrated);
        if (strcmp(property, "ActiveAdvisory") == 0)
                return sd_bus_message_append(reply, "(sst)", b->advisory.kind, b->advisory.message,
                                             b->advisory.time_usec);
        if (strcmp(property, "HistoryStatus") == 0)
                return sd_bus_message_append(reply, "s", b->history_status);
        if (strcmp(property, "Version") == 0)
                return sd_bus_message_append(reply, "s", SPASMD_VERSION);
        return -ENOENT;
}

#define PROP(name, sig) SD_BUS_PROPERTY(name, sig, get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable monitor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetEvents", SD_BUS_ARGS("t", since_usec, "u", limit),
                                SD_BUS_RESULT("a" EVENT_SIG, events), method_get_events, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Calibrate", SD_BUS_ARGS("s", kind), SD_BUS_RESULT("a(ssd)", levels),
                                method_calibrate, OPEN),
        SD_BUS_METHOD_WITH_ARGS("ResetCalibration", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reset_calibration,
                                OPEN),
        SD_BUS_METHOD_WITH_ARGS("SetMonitoring", SD_BUS_ARGS("b", on), SD_BUS_NO_RESULT, method_set_monitoring,
                                OPEN),
        SD_BUS_SIGNAL_WITH_ARGS("ActivityStarted", SD_BUS_ARGS("t", id, "s", sensor, "t", onset_usec, "s", side), 0),
        SD_BUS_SIGNAL_WITH_ARGS("SpasmStarted",
                                SD_BUS_ARGS("t", id, "s", sensor, "t", onset_usec, "s", side, "d", intensity), 0),
        SD_BUS_SIGNAL_WITH_ARGS("SpasmEnded",
                                SD_BUS_ARGS("t", id, "s", sensor, "t", onset_usec, "t", duration_usec, "d", peak_uv,
                                            "d", intensity, "d", mvc_pct, "d", pulse_hz, "s", side, "s", posture),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Twitch",
                                SD_BUS_ARGS("t", id, "s", sensor, "t", onset_usec, "t", duration_usec, "d", peak_uv,
                                            "d", intensity, "d", mvc_pct, "d", pulse_hz, "s", side, "s", posture),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("ActivityEnded",
                                SD_BUS_ARGS("t", id, "s", sensor, "s", class, "t", onset_usec, "t", duration_usec),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Advisory", SD_BUS_ARGS("s", kind, "s", message, "t", time_usec), 0),
        PROP("State", "s"),
        PROP("Monitoring", "b"),
        PROP("ActiveEvent", "(tsst)"),
        PROP("SpasmsToday", "u"),
        PROP("LastEvent", EVENT_SIG),
        PROP("Calibrated", "b"),
        PROP("ActiveAdvisory", "(sst)"),
        PROP("HistoryStatus", "s"),
        SD_BUS_PROPERTY("Version", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static int open_bus(const char *address, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (strcmp(address, "system") == 0)
                return sd_bus_open_system_with_description(ret, "spasmd");
        if (strcmp(address, "user") == 0)
                return sd_bus_open_user_with_description(ret, "spasmd");
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_set_description(bus, "spasmd");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int bus_new(sd_event *event, const char *address, const struct bus_ops *ops, void *userdata, struct bus **ret) {
        struct bus *b = calloc(1, sizeof(*b));
        int r;

        if (!b)
                return -ENOMEM;
        b->ops = ops;
        b->userdata = userdata;
        snprintf(b->state, sizeof(b->state), "idle");
        snprintf(b->history_status, sizeof(b->history_status), "saving");
        snprintf(b->active.class, sizeof(b->active.class), "%s", "");
        b->last.mvc_pct = -1.0f;
        ratelimit_init(&b->get_events_limit, &get_events_limits);

        r = open_bus(address, &b->bus);
        if (r < 0) {
                log_error_errno(r, "cannot connect to the %s bus: %s", address, strerror(-r));
                goto fail;
        }
        /* When dbus-daemon goes away, leave the loop with a failure, so that
         * systemd's Restart=on-failure brings us back on the new bus. */
        r = sd_bus_set_exit_on_disconnect(b->bus, true);
        if (r >= 0)
                r = sd_bus_attach_event(b->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(b->bus, &b->monitor_slot, BUS_PATH, BUS_NAME, monitor_vtable, b);
        if (r >= 0)
                r = sd_bus_add_object_manager(b->bus, &b->manager_slot, BUS_PATH);
        if (r < 0) {
                log_error_errno(r, "cannot set up the D-Bus objects: %s", strerror(-r));
                goto fail;
        }
        *ret = b;
        return 0;
fail:
        bus_free(b);
        return r;
}

int bus_request_name(struct bus *b) {
        int r = sd_bus_request_name(b->bus, BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "cannot own the D-Bus name " BUS_NAME " (%s): is another spasmd running, "
                                       "and is the bus policy org.spasmd.Monitor1.conf installed?", strerror(-r));
        return 0;
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        if (b->calibrate_call) {
                sd_bus_reply_method_errorf(b->calibrate_call, ERROR_PREFIX "NoSensor", "spasmd is stopping");
                sd_bus_message_unref(b->calibrate_call);
        }
        bus_sensors_free(b);
        sd_bus_slot_unref(b->monitor_slot);
        sd_bus_slot_unref(b->manager_slot);
        if (b->bus) {
                sd_bus_flush(b->bus);
                sd_bus_close_unref(b->bus);
        }
        free(b);
        return NULL;
}

static void changed(struct bus *b, const char *property) {
        int r = sd_bus_emit_properties_changed(b->bus, BUS_PATH, BUS_NAME, property, NULL);
        if (r < 0)
                log_warning_errno(r, "cannot send PropertiesChanged for %s: %s", property, strerror(-r));
}

void bus_set_state(struct bus *b, const char *state) {
        if (!b || strcmp(b->state, state) == 0)
                return;
        snprintf(b->state, sizeof(b->state), "%s", state);
        changed(b, "State");
}

void bus_set_monitoring(struct bus *b, bool on) {
        if (!b || b->monitoring == on)
                return;
        b->monitoring = on;
        changed(b, "Monitoring");
}

void bus_set_active_event(struct bus *b, uint64_t id, const char *class, const char *sensor, uint64_t onset_usec) {
        if (!b || (b->active.id == id && strcmp(b->active.class, class) == 0))
                return;
        b->active.id = id;
        snprintf(b->active.class, sizeof(b->active.class), "%s", class);
        snprintf(b->active.sensor, sizeof(b->active.sensor), "%s", sensor);
        b->active.onset_usec = onset_usec;
        changed(b, "ActiveEvent");
}

void bus_set_spasms_today(struct bus *b, unsigned n) {
        if (!b || b->spasms_today == n)
                return;
        b->spasms_today = n;
        changed(b, "SpasmsToday");
}

void bus_set_last_event(struct bus *b, const struct event_record *r) {
        if (!b)
                return;
        b->last = *r;
        changed(b, "LastEvent");
}

void bus_set_calibrated(struct bus *b, bool on) {
        if (!b || b->calibrated == on)
                return;
        b->calibrated = on;
        changed(b, "Calibrated");
}

void bus_set_advisory(struct bus *b, const char *kind, const char *message, uint64_t time_usec) {
        if (!b || (strcmp(b->advisory.kind, kind) == 0 && b->advisory.time_usec == time_usec))
                return;
        snprintf(b->advisory.kind, sizeof(b->advisory.kind), "%s", kind);
        snprintf(b->advisory.message, sizeof(b->advisory.message), "%s", message);
        b->advisory.time_usec = time_usec;
        changed(b, "ActiveAdvisory");
}

void bus_set_history_status(struct bus *b, const char *status) {
        if (!b || strcmp(b->history_status, status) == 0)
                return;
        snprintf(b->history_status, sizeof(b->history_status), "%s", status);
        changed(b, "HistoryStatus");
}

static void emitted(const char *signal, int r) {
        if (r < 0)
                log_warning_errno(r, "cannot send the %s signal: %s", signal, strerror(-r));
}

void bus_emit_activity_started(struct bus *b, uint64_t id, const char *sensor, uint64_t onset_usec, const char *side) {
        if (b)
                emitted("ActivityStarted", sd_bus_emit_signal(b->bus, BUS_PATH, BUS_NAME, "ActivityStarted", "tsts",
                                                              id, sensor, onset_usec, side));
}

void bus_emit_spasm_started(struct bus *b, uint64_t id, const char *sensor, uint64_t onset_usec, const char *side,
                            double intensity) {
        if (b)
                emitted("SpasmStarted", sd_bus_emit_signal(b->bus, BUS_PATH, BUS_NAME, "SpasmStarted", "tstsd", id,
                                                           sensor, onset_usec, side, intensity));
}

void bus_emit_event_ended(struct bus *b, const struct event_record *r) {
        const char *member = r->class == SPASM_CLASS_SPASM ? "SpasmEnded" : "Twitch";
        if (!b || (r->class != SPASM_CLASS_SPASM && r->class != SPASM_CLASS_TWITCH))
                return;
        emitted(member, sd_bus_emit_signal(b->bus, BUS_PATH, BUS_NAME, member, "tsttddddss", r->id, r->sensor,
                                           r->onset_usec, r->duration_usec, (double) r->peak_uv,
                                           (double) r->intensity, (double) r->mvc_pct, (double) r->pulse_hz, r->side,
                                           spasm_posture_to_string(r->posture)));
}

void bus_emit_activity_ended(struct bus *b, uint64_t id, const char *sensor, const char *class, uint64_t onset_usec,
                             uint64_t duration_usec) {
        if (b)
                emitted("ActivityEnded", sd_bus_emit_signal(b->bus, BUS_PATH, BUS_NAME, "ActivityEnded", "tsstt", id,
                                                            sensor, class, onset_usec, duration_usec));
}

void bus_emit_advisory(struct bus *b, const char *kind, const char *message, uint64_t time_usec) {
        if (b)
                emitted("Advisory", sd_bus_emit_signal(b->bus, BUS_PATH, BUS_NAME, "Advisory", "sst", kind, message,
                                                       time_usec));
}

void bus_calibration_done(struct bus *b, const struct calibration_level *levels, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (!b || !b->calibrate_call)
                return;
        r = sd_bus_message_new_method_return(b->calibrate_call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssd)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(ssd)", levels[i].sensor, levels[i].channel, levels[i].level_uv);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0) {
                /* The caller waits for an answer: an error is one. */
                log_warning_errno(r, "cannot answer Calibrate: %s", strerror(-r));
                (void) sd_bus_reply_method_errnof(b->calibrate_call, r, "cannot send the calibration levels: %m");
        }
        b->calibrate_call = sd_bus_message_unref(b->calibrate_call);
}

void bus_calibration_failed(struct bus *b, int error, const char *message) {
        if (!b || !b->calibrate_call)
                return;
        sd_bus_reply_method_errorf(b->calibrate_call, error == -ENODEV ? ERROR_PREFIX "NoSensor"
                                                      : error == -EBUSY ? ERROR_PREFIX "Busy"
                                                      : error == -ESRCH ? ERROR_PREFIX "NotMonitoring"
                                                      : ERROR_PREFIX "InvalidArgument", "%s", message);
        b->calibrate_call = sd_bus_message_unref(b->calibrate_call);
}
