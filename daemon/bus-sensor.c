/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Sensor1 objects: one per sensor, announced through the ObjectManager as they come and go. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"

#define SENSOR_IFACE "org.spasmd.Sensor1"

static int get_sensor_property(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus_sensor *s = userdata;
        (void) bus;
        (void) path;
        (void) interface;
        (void) error;

        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", s->name);
        if (strcmp(property, "Uri") == 0)
                return sd_bus_message_append(reply, "s", s->uri);
        if (strcmp(property, "Role") == 0)
                return sd_bus_message_append(reply, "s", s->role);
        if (strcmp(property, "Channels") == 0) {
                int r = sd_bus_message_open_container(reply, 'a', "s");
                for (unsigned i = 0; r >= 0 && i < s->n_channels; i++)
                        r = sd_bus_message_append(reply, "s", s->channels[i]);
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        if (strcmp(property, "SampleRate") == 0)
                return sd_bus_message_append(reply, "d", s->sample_rate);
        if (strcmp(property, "Connected") == 0)
                return sd_bus_message_append(reply, "b", s->connected);
        if (strcmp(property, "Status") == 0)
                return sd_bus_message_append(reply, "s", s->status);
        if (strcmp(property, "DroppedSamples") == 0)
                return sd_bus_message_append(reply, "t", s->dropped);
        if (strcmp(property, "NoiseFloor") == 0)
                return sd_bus_message_append(reply, "d", s->noise_floor_uv);
        if (strcmp(property, "MainsHz") == 0)
                return sd_bus_message_append(reply, "d", s->mains_hz);
        if (strcmp(property, "ElectrodeContact") == 0)
                return sd_bus_message_append(reply, "s", s->contact);
        if (strcmp(property, "Activity") == 0)
                return sd_bus_message_append(reply, "d", s->bus->ops->activity(s->bus->userdata, s->name));
        return -ENOENT;
}

#define PROP(name, sig) SD_BUS_PROPERTY(name, sig, get_sensor_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable sensor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", get_sensor_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uri", "s", get_sensor_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        PROP("Role", "s"),
        PROP("Channels", "as"),
        PROP("SampleRate", "d"),
        PROP("Connected", "b"),
        PROP("Status", "s"),
        PROP("DroppedSamples", "t"),
        PROP("NoiseFloor", "d"),
        PROP("MainsHz", "d"),
        PROP("ElectrodeContact", "s"),
        SD_BUS_PROPERTY("Activity", "d", get_sensor_property, 0, 0),
        SD_BUS_VTABLE_END,
};

static struct bus_sensor *find(struct bus *b, const char *name) {
        for (unsigned i = 0; i < CONFIG_MAX_SENSORS; i++)
                if (b->sensors[i].used && strcmp(b->sensors[i].name, name) == 0)
                        return &b->sensors[i];
        return NULL;
}

/* Copy info in and name what changed; changed may be NULL. */
static unsigned store(struct bus_sensor *s, const struct bus_sensor_info *info, const char **changed) {
        unsigned n = 0;
#define SET_STR(field, value, prop)                                                   \
        do {                                                                          \
                const char *v_ = (value) ? (value) : "";                              \
                if (strcmp(s->field, v_) != 0) {                                      \
                        snprintf(s->field, sizeof(s->field), "%s", v_);               \
                        if (changed)                                                  \
                                changed[n++] = prop;                                  \
                }                                                                     \
        } while (0)
#define SET_NUM(field, value, prop)                                                   \
        do {                                                                          \
                if (s->field != (value)) {                                            \
                        s->field = (value);                                           \
                        if (changed)                                                  \
                                changed[n++] = prop;                                  \
                }                                                                     \
        } while (0)
        SET_STR(uri, info->uri, "Uri");
        SET_STR(role, info->role, "Role");
        bool same = s->n_channels == info->n_channels;
        for (unsigned i = 0; same && i < info->n_channels; i++)
                same = strcmp(s->channels[i], info->channels[i]) == 0;
        if (!same) {
                s->n_channels = info->n_channels < BUS_SENSOR_CHANNELS ? info->n_channels : BUS_SENSOR_CHANNELS;
                for (unsigned i = 0; i < s->n_channels; i++)
                        snprintf(s->channels[i], sizeof(s->channels[i]), "%s", info->channels[i]);
                if (changed)
                        changed[n++] = "Channels";
        }
        SET_NUM(sample_rate, info->sample_rate, "SampleRate");
        SET_NUM(connected, info->connected, "Connected");
        SET_STR(status, info->status, "Status");
        SET_NUM(dropped, info->dropped, "DroppedSamples");
        SET_NUM(noise_floor_uv, info->noise_floor_uv, "NoiseFloor");
        SET_NUM(mains_hz, info->mains_hz, "MainsHz");
        SET_STR(contact, info->contact, "ElectrodeContact");
#undef SET_STR
#undef SET_NUM
        return n;
}

int bus_sensor_add(struct bus *b, const char *name, const struct bus_sensor_info *info) {
        struct bus_sensor *s = NULL;
        int r;

        if (!b)
                return 0;
        if (find(b, name))
                return -EEXIST;
        for (unsigned i = 0; i < CONFIG_MAX_SENSORS && !s; i++)
                if (!b->sensors[i].used)
                        s = &b->sensors[i];
        if (!s)
                return -ENOSPC;
        *s = (struct bus_sensor) { .bus = b, .used = true };
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->path, sizeof(s->path), BUS_PATH "/sensor/%s", name);
        store(s, info, NULL);
        r = sd_bus_add_object_vtable(b->bus, &s->slot, s->path, SENSOR_IFACE, sensor_vtable, s);
        if (r >= 0)
                r = sd_bus_emit_object_added(b->bus, s->path);
        if (r < 0) {
                s->slot = sd_bus_slot_unref(s->slot);
                s->used = false;
                return log_warning_errno(r, "[sensor.%s] cannot be published on D-Bus: %s", name, strerror(-r));
        }
        return 0;
}

void bus_sensor_update(struct bus *b, const char *name, const struct bus_sensor_info *info) {
        const char *changed[16];
        struct bus_sensor *s;

        if (!b || !(s = find(b, name)))
                return;
        unsigned n = store(s, info, changed);
        if (n == 0)
                return;
        changed[n] = NULL;
        int r = sd_bus_emit_properties_changed_strv(b->bus, s->path, SENSOR_IFACE, (char **) changed);
        if (r < 0)
                log_warning_errno(r, "[sensor.%s] cannot send PropertiesChanged: %s", name, strerror(-r));
}

void bus_sensor_remove(struct bus *b, const char *name) {
        struct bus_sensor *s;

        if (!b || !(s = find(b, name)))
                return;
        int r = sd_bus_emit_object_removed(b->bus, s->path);
        if (r < 0)
                log_warning_errno(r, "[sensor.%s] cannot send InterfacesRemoved: %s", name, strerror(-r));
        s->slot = sd_bus_slot_unref(s->slot);
        s->used = false;
}

void bus_sensors_free(struct bus *b) {
        for (unsigned i = 0; i < CONFIG_MAX_SENSORS; i++)
                if (b->sensors[i].used) {
                        b->sensors[i].slot = sd_bus_slot_unref(b->sensors[i].slot);
                        b->sensors[i].used = false;
                }
}
