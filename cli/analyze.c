/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spasmctl analyze: run the daemon's detector over recordings, offline.
 *
 * Frames go through detector_push_block() exactly as the daemon would feed
 * them, so what this prints is what spasmd would have announced live. A file
 * that turns out malformed part-way prints nothing but the error: events from
 * half a recording, with a summary, would read as a complete answer.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "detector.h"
#include "event-json.h"
#include "json.h"
#include "plot.h"
#include "recording.h"
#include "spasmctl.h"

#define BLOCK_FRAMES 4096
/* Far more than DETECTOR_MAX_NOTICES_PER_FRAME, so a push always takes some frames. */
#define MAX_NOTICES 256

struct analysis {
        const char *path;
        struct recording *rec;
        struct detector *det;
        unsigned n_emg;
        float *emg, *imu;               /* one block of frames */
        unsigned long long n_frames;
        struct spasm_event *events;     /* ended events, in order */
        size_t n_events, cap_events;
        unsigned n_withdrawn; /* announced, then found to be electrode noise */
        struct plot *plot;              /* NULL without --plot */
        struct spasm_notice notices[MAX_NOTICES];
};

struct totals {
        unsigned spasm, twitch, voluntary;
        double spasm_total_s, spasm_longest_s;
};

static const char *or_unknown(const char *s) {
        return s ? s : "unknown";
}

static double duration_s(const struct analysis *a) {
        return (double) a->n_frames / recording_rate_hz(a->rec);
}

static struct analysis *analysis_free(struct analysis *a) {
        if (!a)
                return NULL;
        plot_free(a->plot);
        detector_free(a->det);
        recording_free(a->rec);
        free(a->emg);
        free(a->imu);
        free(a->events);
        free(a);
        return NULL;
}

static int keep_ended(struct analysis *a, int n) {
        for (int i = 0; i < n; i++) {
                if (a->notices[i].kind != SPASM_NOTICE_ENDED)
                        continue;
                /* The picture shows withdrawn activations too, greyed: the table leaves them out. */
                if (a->plot && plot_add_event(a->plot, &a->notices[i].event) < 0)
                        return -ENOMEM;
                if (a->notices[i].event.class == SPASM_CLASS_WITHDRAWN) {
                        /* Announced live, then found to be electrode noise: not an event. */
                        a->n_withdrawn++;
                        continue;
                }
                if (a->n_events == a->cap_events) {
                        size_t cap = a->cap_events ? 2 * a->cap_events : 64;
                        struct spasm_event *e = realloc(a->events, cap * sizeof *e);

                        if (!e)
                                return -ENOMEM;
                        a->events = e;
                        a->cap_events = cap;
                }
                a->events[a->n_events++] = a->notices[i].event;
        }
        return 0;
}

static int push_frames(struct analysis *a, const float *emg, const float *imu, size_t n) {
        size_t done = 0;

        while (done < n) {
                size_t consumed = 0;
                int k;

                k = detector_push_block(a->det, n - done, emg + done * a->n_emg,
                                        imu ? imu + done * RECORDING_IMU_VALUES : NULL,
                                        a->notices, MAX_NOTICES, &consumed);
                if (k < 0)
                        return k;
                k = keep_ended(a, k);
                if (k < 0)
                        return k;
                /* With this much room a push must take a frame; stop rather than spin if it does not. */
                if (consumed == 0 || consumed > n - done)
                        return -EPROTO;
                done += consumed;
        }
        return 0;
}

static int push_block(struct analysis *a, size_t n) {
        size_t done = 0;

        if (!a->plot)
                return push_frames(a, a->emg, a->imu, n);
        /* The detector is causal, so pushing in slices changes nothing; the plot looks between them. */
        while (done < n) {
                const float *imu = a->imu ? a->imu + done * RECORDING_IMU_VALUES : NULL;
                size_t m = plot_due(a->plot);
                int r;

                if (m > n - done)
                        m = n - done;
                r = push_frames(a, a->emg + done * a->n_emg, imu, m);
                if (r < 0)
                        return r;
                plot_take(a->plot, a->det, imu, m);
                done += m;
        }
        return 0;
}

/* Opens the file and sets up a detector for it, and the plot if asked; returns a sysexits.h code. */
static int prepare(const char *path, const char *plot_path, struct analysis **ret) {
        struct detector_config cfg;
        struct analysis *a;
        char err[1024];
        int k;

        a = calloc(1, sizeof *a);
        if (!a)
                return EX_OSERR;
        if (strcmp(path, "-") == 0) {
                a->path = "<stdin>";
                k = recording_open_stream(stdin, a->path, &a->rec, err, sizeof err);
        } else {
                a->path = path;
                k = recording_open(path, &a->rec, err, sizeof err);
        }
        if (k < 0) {
                fprintf(stderr, "%s\n", err);
                analysis_free(a);
                return k == -EBADMSG ? EX_DATAERR : k == -ENOMEM ? EX_OSERR : EX_NOINPUT;
        }
        if (recording_warning(a->rec))
                fprintf(stderr, "%s\n", recording_warning(a->rec));
        detector_config_defaults(&cfg);
        cfg.rate_hz = recording_rate_hz(a->rec);
        cfg.n_emg = a->n_emg = recording_n_emg(a->rec);
        cfg.has_imu = recording_has_imu(a->rec);
        /* The format allows rates the detector does not; say so plainly rather than "Invalid argument". */
        if (cfg.rate_hz < DETECTOR_MIN_RATE_HZ || cfg.rate_hz > DETECTOR_MAX_RATE_HZ) {
                fprintf(stderr, "%s: rate_hz=%g is outside the detector's %g to %g Hz; resample the recording\n",
                        a->path, cfg.rate_hz, DETECTOR_MIN_RATE_HZ, DETECTOR_MAX_RATE_HZ);
                analysis_free(a);
                return EX_DATAERR;
        }
        k = detector_new(&cfg, &a->det);
        if (k < 0) {
                fprintf(stderr, "%s: cannot set up the detector: %s\n", a->path, strerror(-k));
                analysis_free(a);
                return EX_SOFTWARE;
        }
        a->emg = malloc(sizeof(float) * BLOCK_FRAMES * a->n_emg);
        a->imu = cfg.has_imu ? malloc(sizeof(float) * BLOCK_FRAMES * RECORDING_IMU_VALUES) : NULL;
        if (!a->emg || (cfg.has_imu && !a->imu)) {
                fprintf(stderr, "%s: out of memory\n", a->path);
                analysis_free(a);
                return EX_OSERR;
        }
        /* Before the run, so that a path that cannot be written fails at once, not after an hour of data. */
        k = plot_path ? plot_new(a->rec, a->path, plot_path, &a->plot) : 0;
        if (k < 0) {
                fprintf(stderr, "spasmctl analyze: cannot write the plot to %s: %s\n", plot_path, strerror(-k));
                analysis_free(a);
                return k == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
        }
        *ret = a;
        return EX_OK;
}

static int detector_failed(const struct analysis *a, int r) {
        fprintf(stderr, "%s: detector failed: %s\n", a->path, strerror(-r));
        return r == -ENOMEM ? EX_OSERR : EX_SOFTWARE;
}

/* Streams every frame through the detector; returns a sysexits.h code. */
static int run(struct analysis *a) {
        char err[1024];
        size_t n = 0;
        int k, r;

        do {
                k = recording_read_frame(a->rec, a->emg + n * a->n_emg,
                                         a->imu ? a->imu + n * RECORDING_IMU_VALUES : NULL, NULL, err, sizeof err);
                if (k < 0) {
                        fprintf(stderr, "%s\n", err);
                        return k == -EBADMSG ? EX_DATAERR : EX_IOERR;
                }
                n += k;
                a->n_frames += k;
                if (n == BLOCK_FRAMES || (k == 0 && n > 0)) {
                        r = push_block(a, n);
                        if (r < 0)
                                return detector_failed(a, r);
                        n = 0;
                }
        } while (k > 0);

        r = detector_flush(a->det, a->notices, MAX_NOTICES);
        if (r >= 0)
                r = keep_ended(a, r);
        if (r < 0)
                return detector_failed(a, r);
        return EX_OK;
}

static void count(const struct analysis *a, struct totals *t) {
        *t = (struct totals) { 0 };
        for (size_t i = 0; i < a->n_events; i++) {
                const struct spasm_event *e = &a->events[i];
                double d = e->offset_s - e->onset_s;

                if (e->class == SPASM_CLASS_SPASM) {
                        t->spasm++;
                        t->spasm_total_s += d;
                        if (d > t->spasm_longest_s)
                                t->spasm_longest_s = d;
                } else if (e->class == SPASM_CLASS_TWITCH)
                        t->twitch++;
                else if (e->class == SPASM_CLASS_VOLUNTARY)
                        t->voluntary++;
        }
}

/* --- JSON ------------------------------------------------------------------------ */

static void print_json(const struct analysis *a) {
        const char *names[DETECTOR_MAX_EMG];
        struct totals t;

        for (unsigned c = 0; c < a->n_emg && c < DETECTOR_MAX_EMG; c++)
                names[c] = recording_emg_name(a->rec, c);
        for (size_t i = 0; i < a->n_events; i++)
                event_json_write(stdout, "file", a->path, &a->events[i], names, a->n_emg);
        count(a, &t);
        fputs("{\"type\":\"summary\",\"file\":", stdout);
        json_write_string(stdout, a->path);
        printf(",\"counts\":{\"spasm\":%u,\"twitch\":%u,\"voluntary\":%u}", t.spasm, t.twitch, t.voluntary);
        event_json_field(stdout, "spasm_total_s", t.spasm_total_s, 3);
        event_json_field(stdout, "spasm_longest_s", t.spasm_longest_s, 3);
        printf(",\"withdrawn\":%u", a->n_withdrawn);
        printf(",\"imu\":%s", recording_has_imu(a->rec) ? "true" : "false");
        event_json_field(stdout, "duration_s", duration_s(a), 3);
        fputs("}\n", stdout);
}

/* --- human ----------------------------------------------------------------------- */

/* Terminal columns, not bytes: "µ" and "×" are two bytes wide in UTF-8 but one column. */
static size_t columns(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xC0) != 0x80;
        return n;
}

static void cell(const char *s, size_t width, bool left) {
        size_t n = columns(s);

        if (left)
                fputs(s, stdout);
        for (; n < width; n++)
                fputc(' ', stdout);
        if (!left)
                fputs(s, stdout);
}

static const char *site(const struct analysis *a, unsigned c) {
        return recording_emg_name(a->rec, c) + strlen("emg_");
}

/* "left+right" into buf; also used with a NULL buf to measure. */
static size_t channels(const struct analysis *a, uint32_t mask, char *buf, size_t size) {
        size_t n = 0;

        for (unsigned c = 0; c < a->n_emg; c++)
                if (mask & (UINT32_C(1) << c))
                        n += (size_t) snprintf(buf ? buf + n : NULL, buf ? size - n : 0, "%s%s",
                                               n ? "+" : "", site(a, c));
        return n;
}

static const char *seconds(char buf[static 32], double v) {
        if (v < 0)
                return "-";
        snprintf(buf, 32, "%.3f", v);
        return buf;
}

static void print_table(const struct analysis *a, size_t ch_width) {
        bool known = recording_emg_units_known(a->rec);
        char *ch = malloc(ch_width + 1);

        if (!ch) {
                fputs("  (out of memory for the table)\n", stdout);
                return;
        }
        cell("#", 5, false);
        fputs("  ", stdout);
        cell("class", 9, true);
        cell("onset", 10, false);
        cell("offset", 10, false);
        cell("duration", 10, false);
        cell("announced", 11, false);
        cell("detected at", 13, false);
        fputs("  ", stdout);
        cell("channels", ch_width, true);
        cell(known ? "peak µV" : "peak", 10, false);
        cell(known ? "mean µV" : "mean", 10, false);
        cell("intensity", 11, false);
        cell("pulse Hz", 10, false);
        fputc('\n', stdout);
        for (size_t i = 0; i < a->n_events; i++) {
                const struct spasm_event *e = &a->events[i];
                char b[4][32];

                channels(a, e->channel_mask, ch, ch_width + 1);
                printf("%5" PRIu32 "  %-9s%10.3f%10s%10s%11s%13s  ", e->id,
                       or_unknown(spasm_class_to_string(e->class)), e->onset_s, seconds(b[0], e->offset_s),
                       seconds(b[1], e->offset_s >= 0 ? e->offset_s - e->onset_s : -1),
                       seconds(b[2], e->announced_s), seconds(b[3], e->detected_at_s));
                cell(ch, ch_width, true);
                printf("%10.2f%10.2f%10.1f×", e->peak_uv, e->mean_uv, e->intensity);
                if (e->pulse_hz > 0)
                        printf("%10.1f\n", e->pulse_hz);
                else
                        printf("%10s\n", "-");
        }
        fputs("  (intensity: mean level as a multiple of the resting noise floor)\n", stdout);
        free(ch);
}

static void print_human(const struct analysis *a) {
        size_t ch_width = strlen("channels");
        struct totals t;

        printf("%s: %g Hz, %u EMG channel%s (", a->path, recording_rate_hz(a->rec), a->n_emg,
               a->n_emg == 1 ? "" : "s");
        for (unsigned c = 0; c < a->n_emg; c++)
                printf("%s%s", c ? ", " : "", site(a, c));
        printf("), %s, %.3f s\n", recording_has_imu(a->rec) ? "IMU" : "no IMU", duration_s(a));
        if (!recording_has_imu(a->rec))
                puts("  note: no IMU in this recording: voluntary movement cannot be told apart, "
                     "so no event is classed voluntary");
        if (!recording_emg_units_known(a->rec))
                printf("  note: EMG units are unknown (units=%s): amplitudes are in the recording's own "
                       "units, not µV\n", or_unknown(recording_meta(a->rec, "units")));

        if (a->n_events == 0)
                puts("  no events");
        else {
                for (size_t i = 0; i < a->n_events; i++) {
                        size_t w = channels(a, a->events[i].channel_mask, NULL, 0);

                        if (w > ch_width)
                                ch_width = w;
                }
                print_table(a, ch_width);
        }
        count(a, &t);
        printf("  events: spasm %u, twitch %u, voluntary %u; spasm time %.3f s in total",
               t.spasm, t.twitch, t.voluntary, t.spasm_total_s);
        if (t.spasm > 0)
                printf(", longest %.3f s", t.spasm_longest_s);
        fputc('\n', stdout);
        if (a->n_withdrawn > 0)
                printf("  %u activation%s announced and then withdrawn as electrode noise (not counted)\n",
                       a->n_withdrawn, a->n_withdrawn == 1 ? "" : "s");
}

static int analyze_file(const char *path, const char *plot_path, bool json, bool first) {
        struct analysis *a = NULL;
        int r;

        r = prepare(path, plot_path, &a);
        if (r == EX_OK)
                r = run(a);
        if (r == EX_OK) {
                if (json)
                        print_json(a);
                else {
                        if (!first)
                                fputc('\n', stdout);
                        print_human(a);
                }
        }
        if (r == EX_OK && a->plot) {
                int k = plot_commit(a->plot);

                if (k < 0) {
                        /* The events are out already; only the picture is missing, and the exit code says so. */
                        fprintf(stderr, "spasmctl analyze: cannot write the plot to %s: %s\n", plot_path,
                                strerror(-k));
                        r = EX_IOERR;
                }
        }
        analysis_free(a);
        return r;
}

static void usage(FILE *f) {
        fputs("Usage: spasmctl analyze [--json] [--plot SVG] FILE...\n"
              "\n"
              "Run spasmd's detector over recordings (spasmd recording v1; '-' reads\n"
              "standard input) and list every muscle activation it finds.\n"
              "\n"
              "  -j --json        one JSON object per event, then a summary object per file\n"
              "     --plot SVG    also draw the envelopes, the IMU motion and the events\n"
              "                   into the SVG file SVG (one FILE only)\n"
              "  -h --help        show this help\n", f);
}

int verb_analyze(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "plot", required_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *plot_path = NULL;
        bool json = false, shown = false;
        int c, worst = EX_OK;

        opterr = 0;
        /* The leading ':' tells a missing argument apart from an unknown option. */
        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'p':
                        plot_path = optarg;
                        break;
                case ':':
                        fprintf(stderr, "spasmctl analyze: option '%s' needs a file name\n", argv[optind - 1]);
                        usage(stderr);
                        return EX_USAGE;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        /* Our own message: getopt's would start "analyze:", as argv[0] is the command. */
                        fprintf(stderr, "spasmctl analyze: unknown option '%s'\n", argv[optind - 1]);
                        usage(stderr);
                        return EX_USAGE;
                }
        if (optind >= argc) {
                fputs("spasmctl analyze: no FILE given\n", stderr);
                usage(stderr);
                return EX_USAGE;
        }
        /* One picture per run: a name per input would have to be made up, and could overwrite something. */
        if (plot_path && argc - optind > 1) {
                fputs("spasmctl analyze: --plot draws one recording; give a single FILE\n", stderr);
                return EX_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                /* Keep going past a bad file: the others still deserve an answer. */
                int r = analyze_file(argv[i], plot_path, json, !shown);

                if (r == EX_OK)
                        shown = true;
                if (r > worst)
                        worst = r;
                /* Keep stdout and stderr in order when both go to one terminal. */
                fflush(stdout);
        }
        if (shown && !json)
                puts("\nspasmd informs, it does not diagnose: talk about these events with your clinician.");
        return worst;
}
