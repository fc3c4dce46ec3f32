/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>

#include "biquad.h"

static void normalise(struct biquad *q, double b0, double b1, double b2, double a0, double a1, double a2) {
        q->b0 = (float) (b0 / a0);
        q->b1 = (float) (b1 / a0);
        q->b2 = (float) (b2 / a0);
        q->a1 = (float) (a1 / a0);
        q->a2 = (float) (a2 / a0);
}

void biquad_highpass(struct biquad *q, double rate_hz, double corner_hz, double quality) {
        double w = 2.0 * M_PI * corner_hz / rate_hz, c = cos(w), alpha = sin(w) / (2.0 * quality);

        normalise(q, (1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

void biquad_lowpass(struct biquad *q, double rate_hz, double corner_hz, double quality) {
        double w = 2.0 * M_PI * corner_hz / rate_hz, c = cos(w), alpha = sin(w) / (2.0 * quality);

        normalise(q, (1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

void biquad_bandpass(struct biquad *q, double rate_hz, double centre_hz, double quality) {
        double w = 2.0 * M_PI * centre_hz / rate_hz, c = cos(w), alpha = sin(w) / (2.0 * quality);

        normalise(q, alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

void biquad_notch(struct biquad *q, double rate_hz, double centre_hz, double bandwidth_hz) {
        double w = 2.0 * M_PI * centre_hz / rate_hz, c = cos(w);
        double alpha = sin(w) / (2.0 * (centre_hz / bandwidth_hz));

        normalise(q, 1.0, -2.0 * c, 1.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

void biquad_identity(struct biquad *q) {
        *q = (struct biquad) { .b0 = 1.0f };
}

float onepole_alpha(double step_s, double tau_s) {
        if (tau_s <= 0.0)
                return 1.0f;
        return (float) (1.0 - exp(-step_s / tau_s));
}
