/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One detector event as one JSON object on one line: the shape that
 * `spasmctl analyze --json` prints and the daemon's --events=json mirrors. */

#include <stdio.h>

#include "detector.h"

/* source_key/source: "file"/path for a recording, "sensor"/name for a live
 * sensor; names[c] names EMG channel c. */
void event_json_write(FILE *f, const char *source_key, const char *source, const struct spasm_event *e,
                      const char *const *names, unsigned n_names);
void event_json_field(FILE *f, const char *key, double v, int decimals);
