/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The live line of spasmctl monitor on a terminal: under the event lines,
 * one line redrawn in place with each EMG sensor's muscle activity now and
 * the activation under way. monitor.c prints the events; it clears the
 * line before printing one and draws it again after.
 */

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"

struct live;

/*
 * Finds the sensors (GetManagedObjects, then InterfacesAdded and
 * InterfacesRemoved) and starts polling their Activity ten times a second
 * on event. Call it after subscribing to the signals. Returns an exit
 * code, having said on stderr what went wrong.
 */
int live_new(sd_bus *bus, sd_event *event, const struct bus_target *target, struct live **ret);
struct live *live_free(struct live *l);

/* An activation the signals told of: member is the signal's name. Takes NULL. */
void live_track(struct live *l, const char *member, uint64_t id, uint64_t onset_usec);

/* Erase the line, to print above it; then draw it again. Both take NULL. */
void live_clear(struct live *l);
void live_draw(struct live *l);
