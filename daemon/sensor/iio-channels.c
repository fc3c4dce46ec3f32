/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Which channels an iio_source reads, under which names, and how their
 * samples are laid out and scaled: "auto" or an explicit list, checked
 * against the device, with a message that names the fix for every refusal.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iio-source-internal.h"

static bool is_input_scan(const struct iio_channel *ch) {
        return iio_channel_is_scan_element(ch) && !iio_channel_is_output(ch);
}

static bool is_timestamp(const struct iio_channel *ch) {
        return iio_channel_get_type(ch) == IIO_TIMESTAMP || strcmp(iio_channel_get_id(ch), "timestamp") == 0;
}

static void list_scan_channels(const struct iio_device *dev, char *buf, size_t len) {
        buf[0] = '\0';
        for (unsigned i = 0; i < iio_device_get_channels_count(dev); i++) {
                const struct iio_channel *ch = iio_device_get_channel(dev, i);
                if (is_input_scan(ch))
                        iio_source_append(buf, len, ", ", iio_channel_get_id(ch));
        }
        if (!buf[0])
                snprintf(buf, len, "no input scan elements");
}

/* What spasmd calls a channel of this type, and the quantity it carries; -EINVAL for other types. */
static int auto_name(const struct iio_channel *ch, char *name, size_t len, enum sample_role *role,
                     enum iio_quantity *q) {
        static const char axes[] = "xyz";
        enum iio_modifier m = iio_channel_get_modifier(ch);
        int axis = m == IIO_MOD_X ? 0 : m == IIO_MOD_Y ? 1 : m == IIO_MOD_Z ? 2 : -1;

        switch (iio_channel_get_type(ch)) {
        case IIO_VOLTAGE: {
                /* voltage3 -> emg_3; differential voltage0-voltage1 -> emg_0_1 */
                const char *p = iio_channel_get_id(ch);
                size_t o;
                snprintf(name, len, "emg_");
                for (o = strlen(name); *p && o + 1 < len; p++) {
                        if (strncmp(p, "voltage", 7) == 0)
                                p += 6;
                        else
                                name[o++] = *p == '-' ? '_' : *p;
                }
                name[o] = '\0';
                *role = SAMPLE_ROLE_EMG;
                *q = IIO_QUANTITY_VOLTAGE;
                return 0;
        }
        case IIO_ACCEL:
                if (axis < 0)
                        return -EINVAL;
                snprintf(name, len, "acc_%c", axes[axis]);
                *role = SAMPLE_ROLE_ACC_X + axis;
                *q = IIO_QUANTITY_ACCEL;
                return 0;
        case IIO_ANGL_VEL:
                if (axis < 0)
                        return -EINVAL;
                snprintf(name, len, "gyr_%c", axes[axis]);
                *role = SAMPLE_ROLE_GYR_X + axis;
                *q = IIO_QUANTITY_ANGLVEL;
                return 0;
        default:
                return -EINVAL;
        }
}

/* The role a configured name asks for: emg_<anything>, acc_x..z, gyr_x..z. */
static int role_from_name(const char *name, enum sample_role *ret) {
        static const char *const imu[] = { "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z" };

        if (strlen(name) >= IIO_SOURCE_NAME_MAX || name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_")])
                return -EINVAL;
        if (strncmp(name, "emg_", 4) == 0 && name[4]) {
                *ret = SAMPLE_ROLE_EMG;
                return 0;
        }
        for (unsigned i = 0; i < 6; i++)
                if (strcmp(name, imu[i]) == 0) {
                        *ret = SAMPLE_ROLE_ACC_X + i;
                        return 0;
                }
        return -EINVAL;
}

static int add_pick(struct iio_source *s, struct pick *picks, struct iio_channel *ch, const char *name,
                    enum sample_role role, enum iio_quantity q, char *err, size_t errlen) {
        unsigned n = s->n_channels;

        if (n == SAMPLE_BLOCK_MAX_CHANNELS)
                return iio_source_fail(err, errlen, -E2BIG, "%s: more than %d channels; list fewer in channels=%s",
                                       s->desc, SAMPLE_BLOCK_MAX_CHANNELS, s->section);
        for (unsigned i = 0; i < n; i++) {
                if (picks[i].ch == ch)
                        return iio_source_fail(err, errlen, -EINVAL, "%s: channel %s is listed twice; fix channels=%s",
                                               s->desc, iio_channel_get_id(ch), s->section);
                if (strcmp(s->names[i], name) == 0)
                        return iio_source_fail(err, errlen, -EINVAL, "%s: two channels are named %s; fix channels=%s",
                                               s->desc, name, s->section);
        }
        picks[n] = (struct pick) { .ch = ch, .q = q };
        snprintf(s->names[n], sizeof(s->names[n]), "%s", name);
        s->roles[n] = role;
        s->n_channels = n + 1;
        return 0;
}

int iio_source_pick_auto(struct iio_source *s, struct pick *picks, char *err, size_t errlen) {
        char avail[400];

        for (unsigned i = 0; i < iio_device_get_channels_count(s->dev); i++) {
                struct iio_channel *ch = iio_device_get_channel(s->dev, i);
                char name[IIO_SOURCE_NAME_MAX];
                enum sample_role role;
                enum iio_quantity q;
                /* Only what spasmd can use: one value per sample of a type it knows. */
                if (!is_input_scan(ch) || is_timestamp(ch) || iio_channel_get_data_format(ch)->repeat > 1 ||
                    auto_name(ch, name, sizeof(name), &role, &q) < 0)
                        continue;
                int r = add_pick(s, picks, ch, name, role, q, err, errlen);
                if (r < 0)
                        return r;
        }
        if (s->n_channels == 0) {
                list_scan_channels(s->dev, avail, sizeof(avail));
                return iio_source_fail(err, errlen, -ENOENT,
                                       "%s: no voltage, accel or anglvel scan elements (it has %s); is it the right "
                                       "device? fix device=%s", s->desc, avail, s->section);
        }
        return 0;
}

static const char *quantity_type(enum iio_quantity q) {
        return q == IIO_QUANTITY_VOLTAGE ? "voltage" : q == IIO_QUANTITY_ACCEL ? "accel" : "anglvel";
}

/* "voltage0:emg_left, voltage1" (a bare id gets its automatic name). */
int iio_source_pick_list(struct iio_source *s, const char *list, struct pick *picks, char *err, size_t errlen) {
        char copy[1024], avail[400], *rest = copy, *item;

        if (strlen(list) >= sizeof(copy))
                return iio_source_fail(err, errlen, -EINVAL, "%s: channels= is too long; fix channels=%s",
                                       s->desc, s->section);
        snprintf(copy, sizeof(copy), "%s", list);
        /* strsep, not strtok: an empty entry is a mistake to report, not to skip. */
        while ((item = strsep(&rest, ","))) {
                item += strspn(item, " \t");
                char *end = item + strlen(item);
                while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
                        *--end = '\0';
                char *name = strchr(item, ':');
                if (name) {
                        *name++ = '\0';
                        name += strspn(name, " \t");
                        char *e = item + strlen(item);
                        while (e > item && (e[-1] == ' ' || e[-1] == '\t'))
                                *--e = '\0';
                }
                if (!*item)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: channels=%s has an empty entry; fix channels=%s", s->desc, list,
                                               s->section);

                struct iio_channel *ch = iio_device_find_channel(s->dev, item, false);
                if (!ch || !is_input_scan(ch) || is_timestamp(ch)) {
                        list_scan_channels(s->dev, avail, sizeof(avail));
                        return iio_source_fail(err, errlen, -ENOENT,
                                               "%s: channel %s not found (the device has %s); fix channels=%s", s->desc,
                                               item, avail, s->section);
                }
                char autoname[IIO_SOURCE_NAME_MAX];
                enum sample_role role, want_role;
                enum iio_quantity q;
                if (auto_name(ch, autoname, sizeof(autoname), &role, &q) < 0)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: channel %s is neither voltage, accel nor anglvel; spasmd cannot "
                                               "use it; fix channels=%s", s->desc, item, s->section);
                if (name && role_from_name(name, &want_role) < 0)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: %s:%s: a channel is named emg_<site> (lower case letters, "
                                               "digits, _), or acc_x..acc_z, gyr_x..gyr_z; fix channels=%s", s->desc,
                                               item, name, s->section);
                if (name) {
                        /* Units follow the IIO type: an EMG must be a voltage (uV), acc_ an accel (m/s^2)... */
                        enum iio_quantity need = want_role == SAMPLE_ROLE_EMG ? IIO_QUANTITY_VOLTAGE
                                                 : want_role <= SAMPLE_ROLE_ACC_Z ? IIO_QUANTITY_ACCEL
                                                                                  : IIO_QUANTITY_ANGLVEL;
                        if (need != q)
                                return iio_source_fail(err, errlen, -EINVAL,
                                                       "%s: %s is of IIO type %s, but %s needs type %s; fix "
                                                       "channels=%s", s->desc, item, quantity_type(q), name,
                                                       quantity_type(need), s->section);
                        role = want_role;
                }
                int r = add_pick(s, picks, ch, name ? name : autoname, role, q, err, errlen);
                if (r < 0)
                        return r;
        }
        if (s->n_channels == 0)
                return iio_source_fail(err, errlen, -EINVAL, "%s: channels= lists no channel; fix channels=%s", s->desc,
                                       s->section);
        return 0;
}

static struct iio_format to_format(const struct iio_data_format *d) {
        return (struct iio_format) {
                .be = d->is_be, .is_signed = d->is_signed, .fully_defined = d->is_fully_defined && d->bits == d->length,
                .bits = d->bits, .storage = d->length, .shift = d->shift, .repeat = d->repeat ? d->repeat : 1,
        };
}

static int read_attr_double(const struct iio_channel *ch, const char *attr, double *ret, bool *found) {
        *found = iio_channel_find_attr(ch, attr) != NULL;
        if (!*found)
                return 0;
        return iio_channel_attr_read_double(ch, attr, ret);
}

/* Fill one layout element: format, scale and offset of a channel. */
static int describe_channel(struct iio_source *s, const struct iio_channel *ch, int column, enum iio_quantity q,
                            double fallback_scale, struct iio_layout_elem *e, char *err, size_t errlen) {
        const char *id = iio_channel_get_id(ch);
        double scale = 1.0, offset = 0.0;
        bool found;
        char eb[128];
        int r;

        e->fmt = to_format(iio_channel_get_data_format(ch));
        if (iio_format_validate(&e->fmt) < 0)
                return iio_source_fail(err, errlen, -EINVAL,
                                       "%s: channel %s has a format libiio reports as %u/%u>>%u, which cannot be "
                                       "decoded; fix the driver", s->desc, id, e->fmt.bits, e->fmt.storage,
                                       e->fmt.shift);
        e->column = column;
        e->is_timestamp = column < 0;
        if (e->is_timestamp)
                return 0;
        if (e->fmt.repeat > 1)
                return iio_source_fail(err, errlen, -EINVAL,
                                       "%s: channel %s holds %u values per sample; spasmd reads one; fix channels=%s",
                                       s->desc, id, e->fmt.repeat, s->section);

        r = read_attr_double(ch, "scale", &scale, &found);
        if (r < 0)
                return iio_source_fail(err, errlen, r, "%s: cannot read the scale of channel %s: %s; check the driver",
                                       s->desc, id, iio_source_errstr(r, eb, sizeof(eb)));
        if (!found) {
                if (!(fallback_scale > 0))
                        return iio_source_fail(err, errlen, -ENOENT,
                                               "%s: channel %s has no scale attribute; set scale=%s or fix the driver",
                                               s->desc, id, s->section);
                scale = fallback_scale;
        }
        if (!isfinite(scale) || scale == 0.0)
                return iio_source_fail(err, errlen, -EINVAL,
                                       "%s: channel %s has scale %g; fix the driver or set scale=%s", s->desc, id,
                                       scale, s->section);
        r = read_attr_double(ch, "offset", &offset, &found);
        if (r < 0 || !isfinite(offset))
                return iio_source_fail(err, errlen, r, "%s: cannot read the offset of channel %s: %s; check the driver",
                                       s->desc, id,
                                       r < 0 ? iio_source_errstr(r, eb, sizeof(eb)) : "not a finite number");
        e->scale = scale * iio_quantity_factor(q);
        e->raw_offset = offset;
        return 0;
}

/* Enable the picked channels and the timestamp; lay them out in scan order. */
int iio_source_build_layout(struct iio_source *s, const struct pick *picks, double fallback_scale, char *err,
                            size_t errlen) {
        struct iio_layout *l = &s->layout;
        struct iio_channel *ts = NULL;
        int r;

        for (unsigned i = 0; i < iio_device_get_channels_count(s->dev); i++) {
                struct iio_channel *ch = iio_device_get_channel(s->dev, i);
                iio_channel_disable(ch);
                if (!ts && is_input_scan(ch) && is_timestamp(ch))
                        ts = ch;
        }

        *l = (struct iio_layout) { .n_columns = s->n_channels, .timestamp = -1 };
        for (unsigned i = 0; i <= s->n_channels; i++) {
                struct iio_channel *ch = i < s->n_channels ? picks[i].ch : ts;
                if (!ch)
                        break;
                /* Insertion by scan index: that is the order of a scan's bytes. */
                long idx = iio_channel_get_index(ch);
                unsigned k = l->n;
                while (k > 0 && iio_channel_get_index(s->chan[k - 1]) > idx) {
                        s->chan[k] = s->chan[k - 1];
                        l->e[k] = l->e[k - 1];
                        k--;
                }
                if (k > 0 && iio_channel_get_index(s->chan[k - 1]) == idx)
                        return iio_source_fail(err, errlen, -EINVAL,
                                               "%s: channels %s and %s share scan index %ld; list only one in "
                                               "channels=%s", s->desc, iio_channel_get_id(s->chan[k - 1]),
                                               iio_channel_get_id(ch), idx, s->section);
                s->chan[k] = ch;
                l->n++;
                r = describe_channel(s, ch, i < s->n_channels ? (int) i : -1,
                                     i < s->n_channels ? picks[i].q : IIO_QUANTITY_VOLTAGE, fallback_scale, &l->e[k],
                                     err, errlen);
                if (r < 0)
                        return r;
                iio_channel_enable(ch);
        }
        s->has_timestamp = ts != NULL;
        if (iio_layout_compute(l) < 0)
                return iio_source_fail(err, errlen, -EINVAL,
                                       "%s: cannot lay out a sample of these channels (is the timestamp not s64?); "
                                       "fix the driver", s->desc);
        s->live = *l;
        return 0;
}

