/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Structured journal records, one MESSAGE_ID per kind, so `journalctl
 * MESSAGE_ID=...` finds every spasm and `journalctl -x` explains it from
 * conf/spasmd.catalog. Without a journal (a developer's terminal) the
 * record goes to stderr as one line.
 */

#include <stdint.h>

#include "event.h"

#define SPASMD_MESSAGE_SPASM "b5cec0a1ffc84cbe9bb3b5c9409d2517"
#define SPASMD_MESSAGE_TWITCH "8c14193b0ade49d19fb9f4eda9172986"
#define SPASMD_MESSAGE_VOLUNTARY "24313124de9f4e15a54d71745c99ff5c"
#define SPASMD_MESSAGE_SENSOR "480e3e4f6bfa4b24ac4728c41002cb10"
#define SPASMD_MESSAGE_ADVISORY "bbc8051af8334515b7a983ba43eab1df"
#define SPASMD_MESSAGE_ERROR "f65e48c78c9a4f6fb899f7b6e4167a46"

/* A finished event. */
void journal_event(const struct event_record *r);
/* An advisory: the message says what was seen and that it is a reason to see a doctor. */
void journal_advisory(const char *kind, const char *message);
/* A sensor connected, disconnected or ended. */
void journal_sensor(const char *sensor, const char *state, const char *status);
