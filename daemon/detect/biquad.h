/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Second-order sections designed by the bilinear transform (RBJ cookbook
 * forms). Coefficients are shared by every channel that runs at the same
 * rate, so the state lives with the caller, laid out channel-innermost for
 * the vectoriser.
 */

struct biquad {
        float b0, b1, b2, a1, a2;
};

void biquad_highpass(struct biquad *q, double rate_hz, double corner_hz, double quality);
void biquad_lowpass(struct biquad *q, double rate_hz, double corner_hz, double quality);
void biquad_bandpass(struct biquad *q, double rate_hz, double centre_hz, double quality);
void biquad_notch(struct biquad *q, double rate_hz, double centre_hz, double bandwidth_hz);
/* Unity gain, so a section can be left in a cascade but switched off. */
void biquad_identity(struct biquad *q);

/* |H|^2 at a normalised angular frequency w (radians per sample). */
double biquad_power_gain(const struct biquad *q, double w);

/* Q values of the two sections of a 4th-order Butterworth. */
#define BUTTERWORTH4_Q1 0.54119610f
#define BUTTERWORTH4_Q2 1.30656296f

/* Transposed direct form II, one channel, one sample. */
static inline float biquad_step(const struct biquad *q, float *z1, float *z2, float x) {
        float y = q->b0 * x + *z1;
        *z1 = q->b1 * x - q->a1 * y + *z2;
        *z2 = q->b2 * x - q->a2 * y;
        return y;
}

/* A one-pole low-pass: y += alpha * (x - y), alpha for a time constant. */
float onepole_alpha(double step_s, double tau_s);
