/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>

#include "event-json.h"
#include "json.h"

void event_json_field(FILE *f, const char *key, double v, int decimals) {
        fprintf(f, ",\"%s\":", key);
        json_write_number(f, v, decimals);
}

/* For times that may not have happened (< 0): null rather than a negative time. */
static void time_field(FILE *f, const char *key, double v) {
        event_json_field(f, key, v >= 0 ? v : NAN, 3);
}

void event_json_write(FILE *f, const char *source_key, const char *source, const struct spasm_event *e,
                      const char *const *names, unsigned n_names) {
        bool first = true;

        fprintf(f, "{\"%s\":", source_key);
        json_write_string(f, source);
        fprintf(f, ",\"id\":%" PRIu32 ",\"type\":", e->id);
        json_write_string(f, spasm_class_to_string(e->class));
        event_json_field(f, "onset_s", e->onset_s, 3);
        time_field(f, "offset_s", e->offset_s);
        time_field(f, "announced_s", e->announced_s);
        time_field(f, "detected_at_s", e->detected_at_s);
        event_json_field(f, "duration_s", e->offset_s >= 0 ? e->offset_s - e->onset_s : NAN, 3);
        fputs(",\"channels\":[", f);
        for (unsigned c = 0; c < n_names; c++)
                if (e->channel_mask & (UINT32_C(1) << c)) {
                        fputs(first ? "" : ",", f);
                        json_write_string(f, names[c]);
                        first = false;
                }
        fputc(']', f);
        event_json_field(f, "peak_uv", e->peak_uv, 2);
        event_json_field(f, "mean_uv", e->mean_uv, 2);
        event_json_field(f, "intensity", e->intensity, 2);
        event_json_field(f, "intensity_mvc_pct", e->intensity_mvc_pct >= 0 ? e->intensity_mvc_pct : NAN, 2);
        event_json_field(f, "pulse_hz", e->pulse_hz, 2);
        fputs(",\"posture\":", f);
        json_write_string(f, spasm_posture_to_string(e->posture));
        fputs("}\n", f);
}
