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

double biquad_power_gain(const struct biquad *q, double w) {
        /* H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) on z = e^{jw} */
        double c1 = cos(w), s1 = sin(w), c2 = cos(2.0 * w), s2 = sin(2.0 * w);
        double nr = q->b0 + q->b1 * c1 + q->b2 * c2, ni = -(q->b1 * s1 + q->b2 * s2);
        double dr = 1.0 + q->a1 * c1 + q->a2 * c2, di = -(q->a1 * s1 + q->a2 * s2);
        return (nr * nr + ni * ni) / (dr * dr + di * di);
}
