/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fmaxf() and fminf() with the very same result, without a library call in
 * the common case (GCC calls libm for them unless told that there are no
 * NaNs and no signed zeros, and the per-tick code calls them a lot): two
 * different numbers compare, two equal non-zero numbers are the same bits
 * (either one is the answer), and what is left (two zeros, which may differ
 * in sign, or a NaN) goes to the library.
 */

#include <math.h>

static inline float max_f(float x, float y) {
        if (__builtin_expect((x == y && x == 0.0f) || isunordered(x, y), 0))
                return fmaxf(x, y);
        return x > y ? x : y;
}

static inline float min_f(float x, float y) {
        if (__builtin_expect((x == y && x == 0.0f) || isunordered(x, y), 0))
                return fminf(x, y);
        return x < y ? x : y;
}
