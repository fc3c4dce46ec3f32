/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One detector per sensor that carries EMG: takes the sensor's blocks
 * (and an IMU elsewhere, through the frame aligner), feeds the detector and
 * hands each notice on with the wall-clock origin of its stream.
 */

#include <stdbool.h>
#include <stdint.h>

#include "detector.h"
#include "frames.h"
#include "sensor.h"

struct monitor;

/* b and i: the block and sample that tipped the notice; b is NULL for a gap or a flush. */
typedef void (*monitor_notice_cb)(struct monitor *mon, const struct spasm_notice *n, const struct sample_block *b,
                                  uint32_t i, void *userdata);

/* imu_rate: the rate of a streaming IMU on another sensor, 0 if none; has_imu: one is configured anywhere. */
int monitor_new(struct sensor *s, const struct detector_config *base, bool has_imu, double imu_rate,
                monitor_notice_cb cb, void *userdata, struct monitor **ret);
/* Ends any running activation (its notices go to the callback) and frees. */
struct monitor *monitor_free(struct monitor *mon);

void monitor_block(struct monitor *mon, const struct sample_block *b);
/* For a monitor whose IMU is on another sensor. */
bool monitor_takes_imu(const struct monitor *mon);
void monitor_push_imu(struct monitor *mon, const struct sample_block *b, const unsigned map[6]);
void monitor_set_imu_rate(struct monitor *mon, double rate);

struct sensor *monitor_sensor(const struct monitor *mon);
struct detector *monitor_detector(const struct monitor *mon);
unsigned monitor_n_emg(const struct monitor *mon);
const char *const *monitor_channel_names(const struct monitor *mon);
/* CLOCK_REALTIME of stream time 0, in ns. */
int64_t monitor_origin_ns(const struct monitor *mon);
double monitor_rate(const struct monitor *mon);
