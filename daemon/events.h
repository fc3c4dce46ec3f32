/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where the detectors' notices become the daemon's events: each activation
 * gets a daemon-wide id, a finished one is saved to the history (synced)
 * before it is announced as ended, then goes to the journal, to D-Bus and
 * to the advisory check. It also keeps State, ActiveEvent, SpasmsToday and
 * LastEvent up to date.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "bus.h"
#include "config.h"
#include "detector.h"

struct events;

/* Opens the history (a failure is logged and leaves spasmd running without one) and replays it. */
int events_new(sd_event *event, const struct spasmd_config *cfg, struct bus *bus, bool events_json,
               struct events **ret);
struct events *events_free(struct events *ev);
/* New [history] and [advisory] settings from a reload (the directory stays). */
void events_reconfigure(struct events *ev, const struct spasmd_config *cfg);

/* A notice from the detector of sensor; origin_ns is CLOCK_REALTIME of its stream time 0. */
void events_notice(struct events *ev, const char *sensor, const struct spasm_notice *n, int64_t origin_ns,
                   const char *const *names, unsigned n_names);
/* Idle: monitoring is paused, or no EMG sensor streams. */
void events_set_idle(struct events *ev, bool idle);

int events_query(struct events *ev, uint64_t since_usec, unsigned limit, struct event_record **ret, size_t *n);
unsigned events_spasms_today(const struct events *ev);
