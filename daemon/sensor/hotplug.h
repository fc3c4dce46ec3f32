/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * IIO devices coming and going, from udev through sd-device's monitor. The
 * manager hears of each add and remove with the device's name, label,
 * sysname (iio:deviceN) and the role our udev rules gave it, if any.
 */

#include <systemd/sd-event.h>

struct hotplug;

struct hotplug_device {
        const char *sysname;    /* iio:deviceN */
        const char *name;       /* the driver's name attribute, e.g. ads1298 */
        const char *label;      /* the label attribute, or NULL */
        const char *role;       /* SPASMD_ROLE from our udev rules: "emg", "imu" or NULL */
};

typedef void (*hotplug_fn)(const struct hotplug_device *dev, bool added, void *userdata);

int hotplug_new(sd_event *event, hotplug_fn fn, void *userdata, struct hotplug **ret);
struct hotplug *hotplug_free(struct hotplug *h);
/* Report the devices that are already there, as adds (at start-up). */
int hotplug_enumerate(struct hotplug *h);
