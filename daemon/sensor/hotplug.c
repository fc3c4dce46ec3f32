/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-device.h>

#include "hotplug.h"
#include "log.h"

struct hotplug {
        sd_device_monitor *monitor;
        hotplug_fn fn;
        void *userdata;
};

static void report(struct hotplug *h, sd_device *d, bool added) {
        struct hotplug_device dev = { 0 };

        if (sd_device_get_sysname(d, &dev.sysname) < 0)
                return;
        (void) sd_device_get_sysattr_value(d, "name", &dev.name);
        (void) sd_device_get_sysattr_value(d, "label", &dev.label);
        (void) sd_device_get_property_value(d, "SPASMD_ROLE", &dev.role);
        log_debug("IIO device %s (%s) %s", dev.sysname, dev.name ? dev.name : "?", added ? "added" : "removed");
        h->fn(&dev, added, h->userdata);
}

static int on_uevent(sd_device_monitor *m, sd_device *d, void *userdata) {
        sd_device_action_t action;
        (void) m;

        if (sd_device_get_action(d, &action) < 0)
                return 0;
        if (action == SD_DEVICE_ADD || action == SD_DEVICE_BIND)
                report(userdata, d, true);
        else if (action == SD_DEVICE_REMOVE || action == SD_DEVICE_UNBIND)
                report(userdata, d, false);
        return 0;
}

int hotplug_new(sd_event *event, hotplug_fn fn, void *userdata, struct hotplug **ret) {
        struct hotplug *h = calloc(1, sizeof(*h));
        int r;

        if (!h)
                return -ENOMEM;
        h->fn = fn;
        h->userdata = userdata;
        r = sd_device_monitor_new(&h->monitor);
        if (r >= 0)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(h->monitor, "iio", NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(h->monitor, event);
        if (r >= 0)
                r = sd_device_monitor_start(h->monitor, on_uevent, h);
        if (r < 0) {
                hotplug_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

struct hotplug *hotplug_free(struct hotplug *h) {
        if (!h)
                return NULL;
        sd_device_monitor_unref(h->monitor);
        free(h);
        return NULL;
}

int hotplug_enumerate(struct hotplug *h) {
        sd_device_enumerator *e = NULL;
        int r = sd_device_enumerator_new(&e);
        if (r >= 0)
                r = sd_device_enumerator_add_match_subsystem(e, "iio", true);
        if (r >= 0)
                for (sd_device *d = sd_device_enumerator_get_device_first(e); d;
                     d = sd_device_enumerator_get_device_next(e))
                        report(h, d, true);
        sd_device_enumerator_unref(e);
        return r < 0 ? r : 0;
}
