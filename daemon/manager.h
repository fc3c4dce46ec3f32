/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The manager owns the event loop and wires the flow:
 *   sensors -> frames -> one detector per EMG sensor -> events -> sinks
 * (history, journal, D-Bus), and the bus's methods back to them.
 */

#include <stdbool.h>

#include "config.h"

struct manager_options {
        const char *config_path;
        bool config_given;
        const char *bus_address; /* "system", "user", an address, or "none" */
        bool events_json;        /* each finished event as a JSON line on stdout */
        bool trace_latency;      /* how long each onset and class took, as JSON lines on stdout */
};

/*
 * Runs until SIGTERM/SIGINT, or until every sensor is a replay that ended.
 * Returns 0, or a negative errno when it could not start or lost its bus.
 */
int manager_run(const struct manager_options *opts, const struct spasmd_config *cfg);
