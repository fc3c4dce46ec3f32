/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The picture: lanes, scales, events and legend, as plain SVG. */

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plot-internal.h"

struct lane {
        double top, h;
};

struct scale {
        double lo, hi;
        bool log;
};

/* --- text ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, or 0 (overlong forms and surrogates are invalid). */
static size_t utf8_seq(const unsigned char *s) {
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] < 0xC2 || s[0] > 0xF4)
                return 0;
        len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
        cp = s[0] & (0x3Fu >> (len - 1));
        /* A NUL is no continuation byte, so a cut-off sequence stops here. */
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                return 0;
        /* Surrogates are not characters, and U+FFFE and U+FFFF are not XML characters. */
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
                return 0;
        return len;
}

/*
 * Text from the recording (its name, channel names, notes) as XML character
 * data, cut at max characters: anything that would break the file as XML
 * (markup, control bytes, invalid UTF-8) becomes an entity or U+FFFD.
 */
static void xml_text(FILE *f, const char *s, size_t max) {
        const unsigned char *u = (const unsigned char *) s;

        for (size_t n = 0; *u; n++) {
                size_t len = utf8_seq(u);

                if (n == max) {
                        fputs("…", f);
                        return;
                }
                if (len > 1)
                        fwrite(u, 1, len, f);
                else if (len == 0 || *u < 0x20)
                        fputs("\xEF\xBF\xBD", f);
                else if (*u == '&')
                        fputs("&amp;", f);
                else if (*u == '<')
                        fputs("&lt;", f);
                else if (*u == '>')
                        fputs("&gt;", f);
                else if (*u == '"')
                        fputs("&quot;", f);
                else
                        fputc(*u, f);
                u += len ? len : 1;
        }
}

/* --- scales ----------------------------------------------------------------------- */

/* The smallest of 1, 2, 5 x 10^k that is >= v. */
static double nice_up(double v) {
        double d = pow(10.0, floor(log10(v)));

        return v <= d ? d : v <= 2 * d ? 2 * d : v <= 5 * d ? 5 * d : 10 * d;
}

/* The largest of 1, 2, 5 x 10^k that is <= v. */
static double nice_down(double v) {
        double d = pow(10.0, floor(log10(v)));

        return v >= 5 * d ? 5 * d : v >= 2 * d ? 2 * d : d;
}

static double scale_y(const struct scale *s, const struct lane *l, double v) {
        double f;

        if (s->log)
                f = (log10(fmax(v, s->lo)) - log10(s->lo)) / (log10(s->hi) - log10(s->lo));
        else
                f = (v - s->lo) / (s->hi - s->lo);
        f = fmin(fmax(f, 0.0), 1.0);
        return l->top + l->h - LANE_PAD_B - f * (l->h - LANE_PAD_T - LANE_PAD_B);
}

static double duration_s(const struct plot *p) {
        return (double) p->frames / p->rate_hz;
}

static double x_of(const struct plot *p, double t) {
        double d = duration_s(p);

        return MARGIN_L + (d > 0 ? fmin(fmax(t / d, 0.0), 1.0) : 0.0) * PLOT_W;
}

/* Middle of bucket b, seconds. */
static double bucket_t(const struct plot *p, size_t b) {
        uint64_t start = b > 0 ? p->end_frame[b - 1] : 0;

        return (double) (start + p->end_frame[b]) / 2.0 / p->rate_hz;
}

/* One scale for all EMG lanes, so that left and right compare at a glance. */
static struct scale emg_scale(const struct plot *p) {
        double hi = 0.0, lo = INFINITY;

        for (size_t i = 0; i < p->n_buckets * p->n_emg; i++) {
                if (p->level[i].n > 0)
                        hi = fmax(hi, p->level[i].hi);
                if (p->floor[i].n > 0 && p->floor[i].sum > 0)
                        lo = fmin(lo, p->floor[i].sum / (double) p->floor[i].n / 2.0);
        }
        hi = hi > 0 ? nice_up(hi) : 1.0;
        lo = isfinite(lo) ? nice_down(lo) : hi / 1000.0;
        /* A decade at least, so flat data still reads; five at most, so a warm-up spike cannot flatten the rest. */
        lo = fmin(fmax(lo, hi / 1e5), hi / 10.0);
        return (struct scale) { .lo = lo, .hi = hi, .log = true };
}

/* --- drawing ---------------------------------------------------------------------- */

static const char *class_colour(enum spasm_class c) {
        switch (c) {
        case SPASM_CLASS_SPASM:
                return "#d62728";
        case SPASM_CLASS_TWITCH:
                return "#f28e00";
        case SPASM_CLASS_VOLUNTARY:
                return "#1f6fd1";
        default:
                return "#8a8a8a";
        }
}

static void lane_frame(FILE *f, const struct lane *l, const char *title, const char *name, const char *unit) {
        fprintf(f, "<rect class=\"lane\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#fbfbfb\" "
                "stroke=\"#bbb\"/>\n", MARGIN_L, l->top, PLOT_W, l->h);
        fprintf(f, "<text class=\"lane-title\" x=\"%d\" y=\"%.1f\" font-weight=\"bold\">", MARGIN_L + 6, l->top + 14);
        xml_text(f, name, 40);
        /* dx, not a space: SVG drops the space at the start of a tspan. */
        fprintf(f, "<tspan dx=\"8\" font-weight=\"normal\" fill=\"#555\">%s</tspan></text>\n", title);
        fprintf(f, "<text class=\"axis-label\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">"
                "%s</text>\n", l->top + l->h / 2, unit);
}

static void y_tick(FILE *f, const struct scale *s, const struct lane *l, double v) {
        double y = scale_y(s, l, v);

        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                "<text class=\"tick-y\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                MARGIN_L, y, MARGIN_L + PLOT_W, y, MARGIN_L - 5, y + 4, v);
}

static void y_ticks(FILE *f, const struct scale *s, const struct lane *l) {
        if (!s->log) {
                double step = nice_up(s->hi / 4);

                for (double v = 0; v <= s->hi * 1.0001; v += step)
                        y_tick(f, s, l, v);
                return;
        }
        bool all = log10(s->hi / s->lo) <= 2.5;

        for (double d = pow(10.0, floor(log10(s->lo))); d <= s->hi * 1.0001; d *= 10)
                for (unsigned m = 1; m <= 5; m += m == 1 ? 1 : 3) {
                        double v = m * d;

                        if ((m == 1 || all) && v >= s->lo * 0.9999 && v <= s->hi * 1.0001)
                                y_tick(f, s, l, v);
                }
}

/* A min..max band and a line along the highest values; or, for a floor, a dashed line along the mean. */
static void series(FILE *f, const struct plot *p, const struct bucket *b, size_t stride, const struct scale *s,
                   const struct lane *l, const char *cls, const char *colour, bool mean, const char *name) {
        if (!mean) {
                fprintf(f, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.25\" stroke=\"none\" points=\"",
                        colour);
                for (size_t i = 0; i < p->n_buckets; i++)
                        if (b[i * stride].n > 0)
                                fprintf(f, "%.1f,%.1f ", x_of(p, bucket_t(p, i)), scale_y(s, l, b[i * stride].hi));
                for (size_t i = p->n_buckets; i-- > 0;)
                        if (b[i * stride].n > 0)
                                fprintf(f, "%.1f,%.1f ", x_of(p, bucket_t(p, i)), scale_y(s, l, b[i * stride].lo));
                fputs("\"/>\n", f);
        }
        fprintf(f, "<polyline class=\"%s\" data-channel=\"", cls);
        xml_text(f, name, SIZE_MAX);
        fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", colour, mean ? "1.2" : "1",
                mean ? " stroke-dasharray=\"6 4\"" : "");
        for (size_t i = 0; i < p->n_buckets; i++) {
                const struct bucket *k = &b[i * stride];

                if (k->n > 0)
                        fprintf(f, "%.1f,%.1f ", x_of(p, bucket_t(p, i)),
                                scale_y(s, l, mean ? k->sum / (double) k->n : k->hi));
        }
        fputs("\"/>\n", f);
}

static void draw_time_axis(FILE *f, const struct plot *p, double top, double bottom) {
        static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                        7200, 10800, 21600, 43200, 86400 };
        double d = duration_s(p), step;
        size_t k = 0;

        /* At most a dozen ticks, on steps a reader counts in. */
        while (k + 1 < sizeof steps / sizeof steps[0] && d / steps[k] > 12)
                k++;
        step = steps[k];
        for (unsigned i = 0; d > 0 && i * step <= d * 1.0001; i++) {
                double x = x_of(p, i * step);

                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                        "<text class=\"tick-t\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                        x, top, x, bottom, x, bottom, x, bottom + 5, x, bottom + 18, i * step);
        }
        fprintf(f, "<text class=\"axis-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">time (s)</text>\n",
                MARGIN_L + PLOT_W / 2, bottom + 36);
}

/* Labels that would overlap the one before in both rows are left out; the span's tooltip still names it. */
static void draw_events(FILE *f, const struct plot *p, double top, double bottom) {
        double right[2] = { -1e9, -1e9 };

        for (size_t i = 0; i < p->n_events; i++) {
                const struct spasm_event *e = &p->events[i];
                const char *cls = spasm_class_to_string(e->class) ? spasm_class_to_string(e->class) : "unknown";
                const char *colour = class_colour(e->class);
                double end = e->offset_s >= 0 ? e->offset_s : duration_s(p);
                double x0 = x_of(p, e->onset_s), x1 = x_of(p, end), mid = (x0 + x1) / 2;
                double half = 3.5 * (e->id >= 1000 ? 4 : e->id >= 100 ? 3 : e->id >= 10 ? 2 : 1) + 2;

                /* The stroke keeps a 0.3 s twitch visible on a long recording; it does not change x or width. */
                fprintf(f, "<rect class=\"event %s\" data-id=\"%" PRIu32 "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        "height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.16\" stroke=\"%s\" stroke-opacity=\"0.6\">"
                        "<title>%" PRIu32 " %s, %.3f to %.3f s</title></rect>\n", cls, e->id, x0, top, x1 - x0,
                        bottom - top, colour, colour, e->id, cls, e->onset_s, end);
                for (unsigned row = 0; row < 2; row++)
                        if (mid - half >= right[row]) {
                                fprintf(f, "<text class=\"event-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                                        "font-weight=\"bold\" fill=\"%s\">%" PRIu32 "</text>\n",
                                        mid, top - 4 - 13.0 * row, colour, e->id);
                                right[row] = mid + half;
                                break;
                        }
        }
}

/* Plain SVG has no font metrics: a generous width per character keeps the items apart. */
static double legend_text(FILE *f, double x, double y, const char *label, const char *extra) {
        fprintf(f, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s%s</text>\n", x + 24, y + 4, label, extra);
        return x + 24 + 7.0 * (double) (strlen(label) + strlen(extra)) + 18;
}

static double legend_box(FILE *f, double x, double y, const char *colour, double opacity, const char *label,
                         const char *extra) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"12\" fill=\"%s\" fill-opacity=\"%.2f\" "
                "stroke=\"%s\" stroke-opacity=\"0.5\"/>", x, y - 6, colour, opacity, colour);
        return legend_text(f, x, y, label, extra);
}

static double legend_line(FILE *f, double x, double y, const char *colour, bool dashed, const char *label,
                          const char *extra) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"%s/>",
                x, y, x + 18, y, colour, dashed ? " stroke-dasharray=\"6 4\"" : "");
        return legend_text(f, x, y, label, extra);
}

static void draw_legend(FILE *f, const struct plot *p, double y, const char *unit) {
        double x = MARGIN_L;
        bool withdrawn = false;

        for (size_t i = 0; i < p->n_events; i++)
                withdrawn |= p->events[i].class == SPASM_CLASS_WITHDRAWN;
        fputs("<g class=\"legend\">\n", f);
        for (enum spasm_class c = SPASM_CLASS_SPASM; c <= SPASM_CLASS_VOLUNTARY; c++)
                x = legend_box(f, x, y, class_colour(c), 0.35, spasm_class_to_string(c), "");
        if (withdrawn)
                x = legend_box(f, x, y, class_colour(SPASM_CLASS_WITHDRAWN), 0.35, "withdrawn", " (electrode noise)");
        if (p->warm && p->warm_frame > 0)
                x = legend_box(f, x, y, "#000", 0.07, "warm-up", "");
        x = legend_line(f, x, y, "#1d2b3a", false, "envelope, ", unit);
        x = legend_line(f, x, y, "#1d2b3a", true, "noise floor", "");
        if (p->has_imu)
                legend_line(f, x, y, "#2e7d32", false, "trunk rotation rate", "");
        fputs("</g>\n", f);
}

/* Title, a line of facts, then the lines there is something for; returns the y of the last. */
static double draw_header(FILE *f, const struct plot *p) {
        unsigned n[SPASM_CLASS_WITHDRAWN + 1] = { 0 };
        const char *note = recording_meta(p->rec, "note"), *units = recording_meta(p->rec, "units");
        double y = 50;

        for (size_t i = 0; i < p->n_events; i++)
                if (p->events[i].class <= SPASM_CLASS_WITHDRAWN)
                        n[p->events[i].class]++;
        fputs("<text class=\"title\" x=\"16\" y=\"28\" font-size=\"18\" font-weight=\"bold\">spasmctl analyze: ", f);
        xml_text(f, p->name, 110);
        fprintf(f, "</text>\n<text class=\"subtitle\" x=\"16\" y=\"%.0f\">%g Hz, %u EMG channel%s, %s, %.3f s. "
                "Events: spasm %u, twitch %u, voluntary %u", y, p->rate_hz, p->n_emg, p->n_emg == 1 ? "" : "s",
                p->has_imu ? "IMU" : "no IMU (nothing can be classed voluntary)", duration_s(p),
                n[SPASM_CLASS_SPASM], n[SPASM_CLASS_TWITCH], n[SPASM_CLASS_VOLUNTARY]);
        if (n[SPASM_CLASS_WITHDRAWN])
                fprintf(f, "; %u withdrawn as electrode noise (not counted)", n[SPASM_CLASS_WITHDRAWN]);
        fputs(".</text>\n", f);
        if (!recording_emg_units_known(p->rec)) {
                fprintf(f, "<text class=\"units\" x=\"16\" y=\"%.0f\">EMG units unknown (units=", y += 18);
                xml_text(f, units ? units : "?", 60);
                fputs("): amplitudes are in the recording's own units, not µV.</text>\n", f);
        }
        if (note) {
                fprintf(f, "<text class=\"note\" x=\"16\" y=\"%.0f\" fill=\"#555\">note: ", y += 18);
                xml_text(f, note, 160);
                fputs("</text>\n", f);
        }
        return y;
}

void plot_draw(FILE *f, const struct plot *p) {
        const bool uv = recording_emg_units_known(p->rec);
        const char *unit = uv ? "µV RMS" : "RMS, own units";
        double emg_h = p->n_emg <= 2 ? 150 : p->n_emg <= 4 ? 120 : 84;
        unsigned lines = 1 + !uv + !!recording_meta(p->rec, "note");
        double legend_y = 50 + 18 * (lines - 1) + 28, top = legend_y + 36;
        double bottom = top + p->n_emg * (emg_h + LANE_GAP) - LANE_GAP;
        struct scale es = emg_scale(p), ms = { .lo = 0, .hi = 1 };
        struct lane imu = { bottom + LANE_GAP, IMU_LANE_H };
        char title[64];

        if (p->has_imu)
                bottom = imu.top + imu.h;
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
                "font-family=\"sans-serif\" font-size=\"12\" fill=\"#222\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n", WIDTH, bottom + 100, WIDTH, bottom + 100);
        draw_header(f, p);
        draw_legend(f, p, legend_y, unit);

        snprintf(title, sizeof title, "envelope, %s (log scale)", unit);
        for (unsigned c = 0; c < p->n_emg; c++) {
                struct lane l = { top + c * (emg_h + LANE_GAP), emg_h };

                lane_frame(f, &l, title, recording_emg_name(p->rec, c), uv ? "µV RMS (log)" : "RMS (log)");
                y_ticks(f, &es, &l);
        }
        if (p->has_imu) {
                for (size_t i = 0; i < p->n_buckets; i++)
                        if (p->motion[i].n > 0)
                                ms.hi = fmax(ms.hi, p->motion[i].hi);
                ms.hi = nice_up(ms.hi / 4) * ceil(ms.hi / nice_up(ms.hi / 4));
                lane_frame(f, &imu, "rotation rate |ω| from the gyroscope, °/s", "IMU: trunk", "°/s");
                y_ticks(f, &ms, &imu);
        }
        draw_time_axis(f, p, top, bottom);
        /* The envelope is still settling then and nothing can be detected: say so, lest it pass for muscle. */
        if (p->warm && p->warm_frame > 0)
                fprintf(f, "<rect class=\"warm-up\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#000\" "
                        "fill-opacity=\"0.07\"><title>warm-up: the detector learns the noise floor and detects "
                        "nothing</title></rect>\n", MARGIN_L, top,
                        x_of(p, (double) p->warm_frame / p->rate_hz) - MARGIN_L, bottom - top);
        draw_events(f, p, top, bottom);
        for (unsigned c = 0; c < p->n_emg; c++) {
                struct lane l = { top + c * (emg_h + LANE_GAP), emg_h };
                const char *name = recording_emg_name(p->rec, c);

                series(f, p, p->level + c, p->n_emg, &es, &l, "envelope", "#1d2b3a", false, name);
                series(f, p, p->floor + c, p->n_emg, &es, &l, "noise-floor", "#1d2b3a", true, name);
        }
        if (p->has_imu)
                series(f, p, p->motion, 1, &ms, &imu, "imu", "#2e7d32", false, "gyr");
        fprintf(f, "<text class=\"footnote\" x=\"16\" y=\"%.1f\" fill=\"#555\">Each point is the highest value in "
                "%.2f s (the shade spans lowest to highest); spans are the events as analyze lists them, numbered "
                "alike.</text>\n", bottom + 60, (double) (p->width * p->step) / p->rate_hz);
        fprintf(f, "<text class=\"disclaimer\" x=\"16\" y=\"%.1f\" font-weight=\"bold\">spasmd informs, it does not "
                "diagnose: talk about these events with your clinician.</text>\n</svg>\n", bottom + 82);
}

