/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "advisory.h"
#include "event-json.h"
#include "event.h"
#include "events.h"
#include "history.h"
#include "journal.h"
#include "log.h"

/* Finished events that could not be saved yet (a full disk), retried with the next one. */
#define BACKLOG_MAX 256
#define USEC_PER_HOUR (UINT64_C(3600) * 1000000)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)

struct active {
        bool used;
        char sensor[EVENT_SENSOR_MAX];
        uint32_t detector_id;
        uint64_t id;
        enum spasm_class class;
        uint64_t onset_usec;
};

struct events {
        struct bus *bus;
        struct history *history;
        struct advisory *advisory;
        sd_event_source *hourly;
        bool events_json;
        bool idle;
        bool saving;
        bool tried_open;
        uint64_t next_id;
        uint64_t reserved_id;   /* ids below it are reserved in the history */
        char history_dir[CONFIG_VALUE_MAX];
        struct history_limits limits;
        unsigned spasms_today;
        uint64_t day_start_usec;
        struct active active[CONFIG_MAX_SENSORS];
        struct event_record backlog[BACKLOG_MAX];
        unsigned n_backlog;
};

static uint64_t now_usec(void) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (uint64_t) t.tv_sec * 1000000 + (uint64_t) t.tv_nsec / 1000;
}

static uint64_t local_midnight_usec(uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        localtime_r(&t, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        time_t m = mktime(&tm);
        return m > 0 ? (uint64_t) m * 1000000 : 0;
}

static void update_state(struct events *ev) {
        const char *state = "monitoring";
        const struct active *shown = NULL;

        for (unsigned i = 0; i < CONFIG_MAX_SENSORS; i++) {
                const struct active *a = &ev->active[i];
                if (!a->used)
                        continue;
                if (!shown || (a->class == SPASM_CLASS_SPASM && shown->class != SPASM_CLASS_SPASM))
                        shown = a;
        }
        if (ev->idle)
                state = "idle";
        else if (shown)
                state = shown->class == SPASM_CLASS_SPASM ? "spasm" : "activity";
        bus_set_state(ev->bus, state);
        if (shown)
                bus_set_active_event(ev->bus, shown->id, shown->class == SPASM_CLASS_PENDING
                                     ? "pending" : spasm_class_to_string(shown->class), shown->sensor,
                                     shown->onset_usec);
        else
                bus_set_active_event(ev->bus, 0, "", "", 0);
}

static void recount_today(struct events *ev, uint64_t now) {
        struct event_record *recs = NULL;
        size_t n = 0;

        ev->day_start_usec = local_midnight_usec(now);
        ev->spasms_today = 0;
        if (ev->history && history_query(ev->history, ev->day_start_usec, 0, &recs, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        ev->spasms_today += recs[i].class == SPASM_CLASS_SPASM;
        for (unsigned i = 0; i < ev->n_backlog; i++)
                ev->spasms_today += ev->backlog[i].class == SPASM_CLASS_SPASM &&
                                    ev->backlog[i].onset_usec >= ev->day_start_usec;
        free(recs);
        bus_set_spasms_today(ev->bus, ev->spasms_today);
}

static void show_advisory(struct events *ev, uint64_t now) {
        struct advisory_notice cur;
        advisory_current(ev->advisory, now, &cur);
        bus_set_advisory(ev->bus, advisory_kind_to_string(cur.kind), cur.message, cur.time_usec);
}

static void set_saving(struct events *ev, int error) {
        char status[256];

        if (error == 0) {
                if (!ev->saving)
                        log_notice("the event history is being saved again to %s", history_path(ev->history));
                ev->saving = true;
                bus_set_history_status(ev->bus, "saving");
                return;
        }
        snprintf(status, sizeof(status), "not saving: %s; events still go to the journal and D-Bus",
                 ev->history ? strerror(-error) : "the history could not be opened");
        if (ev->saving)
                log_error_errno(error, "the event history is not being saved (%s): %s", status,
                                ev->history ? history_path(ev->history) : "no directory");
        ev->saving = false;
        bus_set_history_status(ev->bus, status);
}

/* Events that could not be saved are tried again without waiting for the next one. */
static void open_history(struct events *ev);

static void retry_backlog(struct events *ev) {
        int err = 0;

        if (ev->n_backlog == 0)
                return;
        if (!ev->history)
                open_history(ev);
        if (!ev->history)
                return;
        while (!err && ev->n_backlog > 0) {
                err = history_append(ev->history, &ev->backlog[0]);
                if (!err)
                        memmove(ev->backlog, ev->backlog + 1, --ev->n_backlog * sizeof(ev->backlog[0]));
        }
        set_saving(ev, err);
}

/* Save r after anything left over from before; false if r is only in memory. */
static bool save(struct events *ev, const struct event_record *r) {
        int err = ev->history ? 0 : -ENOENT;

        retry_backlog(ev);
        if (ev->n_backlog > 0)
                err = -EAGAIN; /* keep the order: r waits behind them */
        if (!err)
                err = history_append(ev->history, r);
        if (err) {
                if (ev->n_backlog == BACKLOG_MAX) {
                        log_error("event %llu is dropped from the unsaved backlog: it stays in the journal",
                                  (unsigned long long) ev->backlog[0].id);
                        memmove(ev->backlog, ev->backlog + 1, --ev->n_backlog * sizeof(ev->backlog[0]));
                }
                ev->backlog[ev->n_backlog++] = *r;
                if (err != -EAGAIN)
                        set_saving(ev, err);
        } else
                set_saving(ev, 0);
        return err == 0;
}

/* Ids are reserved on disk in blocks, so that no id announced by
 * ActivityStarted comes again after a crash, saved or not. */
#define ID_BLOCK 64

static uint64_t take_id(struct events *ev) {
        if (ev->history && ev->next_id >= ev->reserved_id) {
                int r = history_reserve_ids(ev->history, ev->next_id + ID_BLOCK);
                if (r < 0)
                        log_warning_errno(r, "history: cannot reserve event ids (%s); after a crash an id "
                                          "announced but not saved may come again", strerror(-r));
                else
                        ev->reserved_id = ev->next_id + ID_BLOCK;
        }
        return ev->next_id++;
}

static struct active *slot_for(struct events *ev, const char *sensor, bool create) {
        struct active *free_slot = NULL;
        for (unsigned i = 0; i < CONFIG_MAX_SENSORS; i++) {
                if (ev->active[i].used && strcmp(ev->active[i].sensor, sensor) == 0)
                        return &ev->active[i];
                if (!ev->active[i].used && !free_slot)
                        free_slot = &ev->active[i];
        }
        if (!create || !free_slot)
                return NULL;
        *free_slot = (struct active) { .used = true };
        snprintf(free_slot->sensor, sizeof(free_slot->sensor), "%s", sensor);
        return free_slot;
}

static void ended(struct events *ev, struct active *a, const struct spasm_notice *n, struct event_record *rec) {
        uint64_t now = now_usec();

        rec->id = a ? a->id : take_id(ev);
        if (a)
                a->used = false;
        if (n->event.class == SPASM_CLASS_WITHDRAWN) {
                bus_emit_activity_ended(ev->bus, rec->id, rec->sensor, "withdrawn", rec->onset_usec,
                                        rec->duration_usec);
                return;
        }
        /* Synced before anyone hears that it ended. */
        save(ev, rec);
        journal_event(rec);
        bus_emit_event_ended(ev->bus, rec);
        bus_emit_activity_ended(ev->bus, rec->id, rec->sensor, spasm_class_to_string(rec->class), rec->onset_usec,
                                rec->duration_usec);
        bus_set_last_event(ev->bus, rec);

        if (rec->class != SPASM_CLASS_SPASM)
                return;
        if (now >= ev->day_start_usec + USEC_PER_DAY || now < ev->day_start_usec)
                recount_today(ev, now);
        else if (rec->onset_usec >= ev->day_start_usec) {
                ev->spasms_today++;
                bus_set_spasms_today(ev->bus, ev->spasms_today);
        }
        struct advisory_notice notices[ADVISORY_NOTICES_MAX];
        int k = advisory_add(ev->advisory, rec, now, false, notices);
        for (int i = 0; i < k; i++) {
                const char *kind = advisory_kind_to_string(notices[i].kind);
                journal_advisory(kind, notices[i].message);
                bus_emit_advisory(ev->bus, kind, notices[i].message, notices[i].time_usec);
        }
        show_advisory(ev, now);
}

void events_notice(struct events *ev, const char *sensor, const struct spasm_notice *n, int64_t origin_ns,
                   const char *const *names, unsigned n_names) {
        struct event_record rec;
        struct active *a = slot_for(ev, sensor, n->kind == SPASM_NOTICE_ONSET);

        event_record_from(&rec, sensor, &n->event, origin_ns, names, n_names);
        if (a && n->kind == SPASM_NOTICE_ONSET && a->detector_id != n->event.id) {
                a->detector_id = n->event.id;
                a->id = take_id(ev);
                a->class = SPASM_CLASS_PENDING;
                /* A replay faster than real time runs ahead of the clock: no onset lies in the future. */
                uint64_t now = now_usec();
                a->onset_usec = rec.onset_usec < now ? rec.onset_usec : now;
        }
        if (a && a->detector_id != n->event.id)
                a = NULL; /* not the activation we know: it keeps its own id */
        /* The onset is placed on the wall clock once, when it is announced, so
         * every signal and the history give the same time for it. */
        if (a)
                rec.onset_usec = a->onset_usec;

        switch (n->kind) {
        case SPASM_NOTICE_ONSET:
                log_info("[sensor.%s] activity started (event %llu)", sensor, (unsigned long long) (a ? a->id : 0));
                if (a)
                        bus_emit_activity_started(ev->bus, a->id, sensor, rec.onset_usec, rec.side);
                break;
        case SPASM_NOTICE_CLASSIFIED:
                if (!a)
                        break;
                a->class = n->event.class;
                log_info("[sensor.%s] event %llu is a %s", sensor, (unsigned long long) a->id,
                         spasm_class_to_string(a->class));
                if (a->class == SPASM_CLASS_SPASM)
                        bus_emit_spasm_started(ev->bus, a->id, sensor, a->onset_usec, rec.side, rec.intensity);
                break;
        case SPASM_NOTICE_ENDED:
                ended(ev, a, n, &rec);
                if (ev->events_json && n->event.class != SPASM_CLASS_WITHDRAWN) {
                        event_json_write(stdout, "sensor", sensor, &n->event, names, n_names);
                        fflush(stdout);
                }
                break;
        }
        update_state(ev);
}

void events_set_idle(struct events *ev, bool idle) {
        ev->idle = idle;
        update_state(ev);
}

static int by_onset(const void *a, const void *b) {
        const struct event_record *x = a, *y = b;
        if (x->onset_usec != y->onset_usec)
                return x->onset_usec < y->onset_usec ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

int events_query(struct events *ev, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n) {
        struct event_record *recs = NULL;
        size_t have = 0;

        if (ev->history) {
                int r = history_query(ev->history, since_usec, limit, &recs, &have);
                if (r < 0)
                        return r;
        } else if (ev->n_backlog == 0)
                return -ENOENT;
        /* Events not on disk yet are events all the same. */
        size_t extra = 0;
        for (unsigned i = 0; i < ev->n_backlog; i++)
                extra += ev->backlog[i].onset_usec >= since_usec;
        if (extra > 0) {
                struct event_record *all = realloc(recs, (have + extra) * sizeof(*all));
                if (!all) {
                        free(recs);
                        return -ENOMEM;
                }
                recs = all;
                for (unsigned i = 0; i < ev->n_backlog; i++)
                        if (ev->backlog[i].onset_usec >= since_usec)
                                recs[have++] = ev->backlog[i];
                if (limit > 0 && have > limit) {
                        memmove(recs, recs + (have - limit), limit * sizeof(*recs));
                        have = limit;
                }
        }
        /* Saved in the order they ended; asked for in the order they began. */
        if (have > 1)
                qsort(recs, have, sizeof(*recs), by_onset);
        *ret = recs;
        *n = have;
        return 0;
}

unsigned events_spasms_today(const struct events *ev) {
        return ev->spasms_today;
}

static void limits_from(const struct spasmd_config *cfg, struct history_limits *hl, struct advisory_config *ac) {
        *hl = (struct history_limits) {
                .max_age_usec = (uint64_t) cfg->history.max_age_days * USEC_PER_DAY,
                .max_bytes = (uint64_t) cfg->history.max_size_mb << 20,
        };
        *ac = (struct advisory_config) {
                .max_spasms_per_day = cfg->advisory.max_spasms_per_day,
                .max_spasm_minutes = cfg->advisory.max_spasm_minutes,
                .trend = cfg->advisory.trend,
        };
}

static void compact(struct events *ev, uint64_t now) {
        if (!ev->history)
                return;
        int r = history_compact(ev->history, now);
        if (r > 0)
                log_info("history: %d events past the retention limits were removed", r);
        else if (r < 0)
                log_warning_errno(r, "history: compaction failed, the file stays as it was: %s", strerror(-r));
}

/* Hourly, or at midnight if that comes first (a day's count starts afresh). */
static uint64_t next_wakeup(const struct events *ev, uint64_t now) {
        uint64_t midnight = ev->day_start_usec + USEC_PER_DAY;
        return midnight > now && midnight < now + USEC_PER_HOUR ? midnight : now + USEC_PER_HOUR;
}

/* Midnight changes SpasmsToday, and time alone lets an advisory lapse. */
static int on_hourly(sd_event_source *s, uint64_t usec, void *userdata) {
        struct events *ev = userdata;
        uint64_t now = now_usec();
        (void) usec;

        if (now >= ev->day_start_usec + USEC_PER_DAY || now < ev->day_start_usec) {
                recount_today(ev, now);
                compact(ev, now);
        }
        show_advisory(ev, now);
        retry_backlog(ev);
        sd_event_source_set_time(s, next_wakeup(ev, now));
        return 0;
}

static const char *history_dir(const struct spasmd_config *cfg, char *buf, size_t len) {
        const char *state = getenv("STATE_DIRECTORY");
        if (cfg->history.directory[0])
                return cfg->history.directory;
        if (state && *state) {
                /* systemd lists one path per StateDirectory=, colon-separated. */
                snprintf(buf, len, "%.*s", (int) strcspn(state, ":"), state);
                return buf;
        }
        return CONFIG_DEFAULT_STATE_DIR;
}

/* At start, and again while events wait in memory because it could not be opened. */
static void open_history(struct events *ev) {
        char msg[512];
        const char *dir = ev->history_dir;

        /* systemd makes StateDirectory=; a directory= of one's own may not exist yet. */
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                log_warning_errno(errno, "cannot create the history directory %s: %s", dir, strerror(errno));
        int r = history_open(dir, &ev->limits, &ev->history, msg, sizeof(msg));
        if (r < 0) {
                if (ev->saving || !ev->tried_open)
                        log_error_errno(r, "the event history cannot be opened, events will not be saved: %s",
                                        msg[0] ? msg : strerror(-r));
                ev->tried_open = true;
                ev->history = NULL;
                return;
        }
        ev->tried_open = true;
        if (msg[0])
                log_warning("history: %s", msg);
        ev->saving = true;
        if (history_next_id(ev->history) > ev->next_id)
                ev->next_id = history_next_id(ev->history);
        log_info("event history: %zu events in %s", history_count(ev->history), history_path(ev->history));
}

static void replay_history(struct events *ev, uint64_t now) {
        struct event_record *recs = NULL;
        size_t n = 0;

        if (!ev->history || history_query(ev->history, now > 8 * USEC_PER_DAY ? now - 8 * USEC_PER_DAY : 0, 0,
                                          &recs, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                advisory_add(ev->advisory, &recs[i], now, true, NULL);
        free(recs);
        /* The last event, whatever its age. */
        if (history_query(ev->history, 0, 1, &recs, &n) >= 0 && n == 1)
                bus_set_last_event(ev->bus, &recs[0]);
        free(recs);
}

int events_new(sd_event *event, const struct spasmd_config *cfg, struct bus *bus, bool events_json,
               struct events **ret) {
        struct events *ev = calloc(1, sizeof(*ev));
        struct history_limits hl;
        struct advisory_config ac;
        char buf[CONFIG_VALUE_MAX];
        uint64_t now = now_usec();
        int r;

        if (!ev)
                return -ENOMEM;
        ev->bus = bus;
        ev->events_json = events_json;
        ev->idle = true;
        ev->next_id = 1;
        limits_from(cfg, &hl, &ac);
        r = advisory_new(&ac, &ev->advisory);
        if (r < 0) {
                free(ev);
                return r;
        }

        snprintf(ev->history_dir, sizeof(ev->history_dir), "%s", history_dir(cfg, buf, sizeof(buf)));
        ev->limits = hl;
        open_history(ev);
        if (!ev->history)
                set_saving(ev, -ENOENT);
        else
                compact(ev, now);
        replay_history(ev, now);
        recount_today(ev, now);
        show_advisory(ev, now);
        update_state(ev);

        r = sd_event_add_time(event, &ev->hourly, CLOCK_REALTIME, next_wakeup(ev, now), 60 * 1000000ULL,
                              on_hourly, ev);
        if (r < 0) {
                events_free(ev);
                return r;
        }
        *ret = ev;
        return 0;
}

void events_reconfigure(struct events *ev, const struct spasmd_config *cfg) {
        struct history_limits hl;
        struct advisory_config ac;

        limits_from(cfg, &hl, &ac);
        ev->limits = hl;
        if (ev->history)
                history_set_limits(ev->history, &hl);
        if (advisory_set_config(ev->advisory, &ac) < 0)
                log_warning("reload: the [advisory] limits were refused; the old ones stay");
        compact(ev, now_usec());
}

struct events *events_free(struct events *ev) {
        if (!ev)
                return NULL;
        retry_backlog(ev);
        if (ev->n_backlog > 0)
                log_error("%u finished events could not be saved to the history; they are in the journal",
                          ev->n_backlog);
        sd_event_source_disable_unref(ev->hourly);
        history_free(ev->history);
        advisory_free(ev->advisory);
        free(ev);
        return NULL;
}
