/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scope-bound cleanup, as systemd writes it: the unref runs on every return path. */
#define _cleanup_(f) __attribute__((cleanup(f)))
