/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * iio_source without a server: libiio's xml: backend describes devices and
 * channels (it cannot read attributes or stream), which is enough for device
 * lookup, channel selection and naming, scan layout and the messages of
 * every refusal. Streaming is tested against the iiod emulator by
 * tests/integration/test-iio-read.sh.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "iio-source-internal.h"

#define DTD \
        "<!DOCTYPE context [<!ELEMENT context (device | context-attribute)*><!ELEMENT context-attribute EMPTY>" \
        "<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>" \
        "<!ELEMENT channel (scan-element?, attribute*)><!ELEMENT attribute EMPTY><!ELEMENT scan-element EMPTY>" \
        "<!ELEMENT debug-attribute EMPTY><!ELEMENT buffer-attribute EMPTY>" \
        "<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED version-minor CDATA #REQUIRED " \
        "version-git CDATA #REQUIRED description CDATA #IMPLIED>" \
        "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>" \
        "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>" \
        "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>" \
        "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>" \
        "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>" \
        "<!ATTLIST debug-attribute name CDATA #REQUIRED><!ATTLIST buffer-attribute name CDATA #REQUIRED>]>"

#define CH(id, idx, fmt) \
        "<channel id=\"" id "\" type=\"input\"><scan-element index=\"" #idx "\" format=\"" fmt "\"/></channel>"
#define S24 "le:s24/32&gt;&gt;0"
#define S16 "le:s16/16&gt;&gt;0"
#define TS(idx) CH("timestamp", idx, "le:S64/64&gt;&gt;0")

static const char ctx_xml[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>" DTD
        "<context name=\"xml\" version-major=\"0\" version-minor=\"24\" version-git=\"test\">"
        "<device id=\"iio:device0\" name=\"ads1298\" label=\"emg\">"
        CH("voltage0", 0, S24) CH("voltage1", 1, S24) CH("voltage2", 2, S24) CH("voltage3", 3, S24)
        CH("voltage4-voltage5", 4, S24)
        CH("temp", 5, S16)
        "<channel id=\"voltage9\" type=\"input\"><scan-element index=\"6\" format=\"le:s16/16X2&gt;&gt;0\"/></channel>"
        TS(7)
        "<channel id=\"voltage8\" type=\"input\"><attribute name=\"raw\" filename=\"in_voltage8_raw\"/></channel>"
        "</device>"
        /* bmi160: gyro before accel in scan order, as in the kernel driver */
        "<device id=\"iio:device1\" name=\"bmi160\" label=\"imu\">"
        CH("anglvel_x", 0, S16) CH("anglvel_y", 1, S16) CH("anglvel_z", 2, S16)
        CH("accel_x", 3, S16) CH("accel_y", 4, S16) CH("accel_z", 5, S16) TS(6)
        "</device>"
        "<device id=\"iio:device2\" name=\"twin\"></device>"
        "<device id=\"iio:device3\" name=\"twin\"></device>"
        "<device id=\"iio:device4\" name=\"wide\">"
        CH("voltage0", 0, S16) CH("voltage1", 1, S16) CH("voltage2", 2, S16) CH("voltage3", 3, S16)
        CH("voltage4", 4, S16) CH("voltage5", 5, S16) CH("voltage6", 6, S16) CH("voltage7", 7, S16)
        CH("voltage8", 8, S16) CH("voltage9", 9, S16) CH("voltage10", 10, S16) CH("voltage11", 11, S16)
        CH("voltage12", 12, S16) CH("voltage13", 13, S16) CH("voltage14", 14, S16) CH("voltage15", 15, S16)
        CH("voltage16", 16, S16)
        "</device>"
        "<device id=\"iio:device5\" name=\"scaled\">"
        "<channel id=\"voltage0\" type=\"input\"><scan-element index=\"0\" format=\"" S24 "\"/>"
        "<attribute name=\"scale\" filename=\"in_voltage_scale\"/></channel>"
        "</device>"
        "</context>";

static char xml_path[64];
static char xml_uri[80];

static int setup(void **state) {
        (void) state;
        snprintf(xml_path, sizeof(xml_path), "/tmp/test-iio-source-XXXXXX");
        int fd = mkstemp(xml_path);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, ctx_xml, sizeof(ctx_xml) - 1);
        close(fd);
        snprintf(xml_uri, sizeof(xml_uri), "xml:%s", xml_path);
        return n == (ssize_t) sizeof(ctx_xml) - 1 ? 0 : -1;
}

static int teardown(void **state) {
        (void) state;
        unlink(xml_path);
        return 0;
}

/* A source with its context and device, as open has them before the channels. */
static struct iio_source *source(const char *device) {
        struct iio_source *s = calloc(1, sizeof(*s));
        assert_non_null(s);
        snprintf(s->desc, sizeof(s->desc), "%s device %s", xml_uri, device);
        snprintf(s->section, sizeof(s->section), " in [sensor.t]");
        s->ctx = iio_create_context_from_uri(xml_uri);
        assert_non_null(s->ctx);
        s->dev = iio_context_find_device(s->ctx, device);
        assert_non_null(s->dev);
        return s;
}

static void done(struct iio_source *s) {
        iio_context_destroy(s->ctx);
        free(s);
}

/* Pick and lay out; returns the error, with the message in err. */
static int choose(struct iio_source *s, const char *list, char *err, size_t len) {
        struct pick picks[SAMPLE_BLOCK_MAX_CHANNELS];
        int r = list ? iio_source_pick_list(s, list, picks, err, len) : iio_source_pick_auto(s, picks, err, len);
        if (r < 0)
                return r;
        return iio_source_build_layout(s, picks, 0.0001, err, len);
}

static void test_auto_emg(void **state) {
        (void) state;
        char err[600] = "";
        struct iio_source *s = source("ads1298");
        assert_int_equal(choose(s, NULL, err, sizeof(err)), 0);
        /* voltages in scan order; temp has no role; the repeated voltage9 is refused only when asked for */
        assert_int_equal(s->n_channels, 5);
        static const char *const names[] = { "emg_0", "emg_1", "emg_2", "emg_3", "emg_4_5" };
        for (unsigned i = 0; i < 5; i++) {
                assert_string_equal(s->names[i], names[i]);
                assert_int_equal(s->roles[i], SAMPLE_ROLE_EMG);
        }
        assert_true(s->has_timestamp);
        assert_int_equal(s->layout.n, 6);
        assert_int_equal(s->layout.timestamp, 5);
        assert_int_equal(s->layout.e[5].offset, 24); /* five s24/32, then the s64 aligned to 8 */
        assert_int_equal(s->layout.sample_size, 32);
        /* the fallback scale, times 1000 for mV -> uV */
        assert_true(s->layout.e[0].scale > 0.0999 && s->layout.e[0].scale < 0.1001);
        done(s);
}

static void test_auto_imu(void **state) {
        (void) state;
        char err[600] = "";
        struct iio_source *s = source("bmi160");
        assert_int_equal(choose(s, NULL, err, sizeof(err)), 0);
        static const char *const names[] = { "gyr_x", "gyr_y", "gyr_z", "acc_x", "acc_y", "acc_z" };
        static const enum sample_role roles[] = { SAMPLE_ROLE_GYR_X, SAMPLE_ROLE_GYR_Y, SAMPLE_ROLE_GYR_Z,
                                                  SAMPLE_ROLE_ACC_X, SAMPLE_ROLE_ACC_Y, SAMPLE_ROLE_ACC_Z };
        assert_int_equal(s->n_channels, 6);
        for (unsigned i = 0; i < 6; i++) {
                assert_string_equal(s->names[i], names[i]);
                assert_int_equal(s->roles[i], roles[i]);
        }
        assert_int_equal(s->layout.e[6].offset, 16);
        assert_int_equal(s->layout.sample_size, 24);
        /* m/s^2 and rad/s: no unit factor */
        assert_true(s->layout.e[3].scale == 0.0001);
        done(s);
}

static void test_list(void **state) {
        (void) state;
        char err[600] = "";
        struct iio_source *s = source("bmi160");
        /* columns follow the list; the layout stays in scan order */
        assert_int_equal(choose(s, " accel_z:acc_z ,anglvel_x: gyr_x,accel_x", err, sizeof(err)), 0);
        assert_int_equal(s->n_channels, 3);
        assert_string_equal(s->names[0], "acc_z");
        assert_string_equal(s->names[1], "gyr_x");
        assert_string_equal(s->names[2], "acc_x"); /* a bare id gets its automatic name */
        assert_int_equal(s->roles[0], SAMPLE_ROLE_ACC_Z);
        assert_int_equal(s->layout.n, 4);
        assert_int_equal(s->layout.e[0].column, 1); /* anglvel_x, scan index 0 */
        assert_int_equal(s->layout.e[1].column, 2); /* accel_x, 3 */
        assert_int_equal(s->layout.e[2].column, 0); /* accel_z, 5 */
        assert_int_equal(s->layout.e[1].offset, 2);
        assert_int_equal(s->layout.e[2].offset, 4);
        assert_int_equal(s->layout.e[3].offset, 8);
        assert_string_equal(iio_source_channel_id(s, 0), "accel_z");
        assert_string_equal(iio_source_channel_name(s, 1), "gyr_x");
        assert_null(iio_source_channel_name(s, 3));
        done(s);

        s = source("ads1298");
        assert_int_equal(choose(s, "voltage1:emg_right,voltage0:emg_left", err, sizeof(err)), 0);
        assert_string_equal(s->names[0], "emg_right");
        assert_int_equal(s->layout.e[0].column, 1);
        assert_int_equal(s->layout.e[2].offset, 8);
        done(s);
}

static void expect(const char *device, const char *list, int want_r, const char *want_msg) {
        char err[600] = "";
        struct iio_source *s = source(device);
        int r = choose(s, list, err, sizeof(err));
        if (r != want_r || !strstr(err, want_msg))
                fail_msg("%s: '%s': got %d \"%s\", wanted %d \"%s\"", device, list, r, err, want_r, want_msg);
        done(s);
}

static void test_list_errors(void **state) {
        (void) state;
        expect("ads1298", "voltage7:emg_x", -ENOENT,
               "channel voltage7 not found (the device has voltage0, voltage1, voltage2, voltage3, voltage4-voltage5, "
               "temp, voltage9, timestamp); fix channels= in [sensor.t]");
        expect("ads1298", "voltage8:emg_x", -ENOENT, "channel voltage8 not found"); /* not a scan element */
        expect("ads1298", "timestamp:emg_t", -ENOENT, "channel timestamp not found");
        expect("ads1298", "temp:emg_t", -EINVAL, "channel temp is neither voltage, accel nor anglvel");
        expect("ads1298", "voltage0:Emg_left", -EINVAL, "a channel is named emg_<site>");
        expect("ads1298", "voltage0:emg_", -EINVAL, "a channel is named emg_<site>");
        expect("ads1298", "voltage0:acc_w", -EINVAL, "a channel is named emg_<site>");
        expect("ads1298", "voltage0:acc_x", -EINVAL, "voltage0 is of IIO type voltage, but acc_x needs type accel");
        expect("bmi160", "accel_x:gyr_x", -EINVAL, "accel_x is of IIO type accel, but gyr_x needs type anglvel");
        expect("ads1298", "voltage0:emg_a, voltage0:emg_b", -EINVAL, "channel voltage0 is listed twice");
        expect("ads1298", "voltage0:emg_a, voltage1:emg_a", -EINVAL, "two channels are named emg_a");
        expect("ads1298", "voltage0,,voltage1", -EINVAL, "has an empty entry");
        expect("ads1298", " , ", -EINVAL, "has an empty entry");
        expect("ads1298", "voltage9", -EINVAL, "channel voltage9 holds 2 values per sample");
        expect("wide", NULL, -E2BIG, "more than 16 channels; list fewer in channels= in [sensor.t]");
        expect("scaled", NULL, -ENOSYS, "cannot read the scale of channel voltage0"); /* xml: reads nothing */
}

static void test_open(void **state) {
        (void) state;
        struct iio_source_config cfg = { .name = "t", .uri = xml_uri, .sample_rate = 1000 };
        struct iio_source *s = NULL;
        char err[600];

        cfg.device = "nothere";
        assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -ENODEV);
        assert_non_null(strstr(err, "device nothere: no such device (found: ads1298 label emg (iio:device0), "
                                    "bmi160 label imu (iio:device1), twin (iio:device2)"));
        assert_non_null(strstr(err, "fix device=nothere in [sensor.t]"));
        cfg.device = "twin";
        assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -ENOTUNIQ);
        assert_non_null(strstr(err, "2 devices are named twin (iio:device2, iio:device3)"));
        /* found by name, label or id; then the buffer cannot be made on xml: */
        static const char *const ok[] = { "ads1298", "emg", "iio:device0", "imu" };
        for (unsigned i = 0; i < 4; i++) {
                cfg.device = ok[i];
                cfg.fallback_scale = 0.0001;
                assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -ENOSYS);
                assert_non_null(strstr(err, "this context cannot stream samples"));
        }
        assert_null(s);
        /* no rate attribute and no sample_rate= */
        cfg.device = "emg";
        cfg.sample_rate = 0;
        assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "has no sampling_frequency attribute; set sample_rate= in [sensor.t]"));
        /* no scale and no fallback */
        cfg.sample_rate = 1000;
        cfg.fallback_scale = 0;
        assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "channel voltage0 has no scale attribute; set scale= in [sensor.t] or fix the "
                                    "driver"));
        /* bad arguments */
        cfg.device = NULL;
        assert_int_equal(iio_source_open(&cfg, &s, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "needs uri= and device= in [sensor.t]"));
}

static void test_uri_kept(void **state) {
        (void) state;
        /* libiio 0.24 writes into the URI it is given; ours must stay whole.
         * Nothing listens on port 1 of the loopback: refused at once. */
        char uri[] = "ip:127.0.0.1:1";
        struct iio_source_config cfg = { .uri = uri, .device = "x" };
        struct iio_source *s = NULL;
        char err[600];
        assert_true(iio_source_open(&cfg, &s, err, sizeof(err)) < 0);
        assert_string_equal(uri, "ip:127.0.0.1:1");
        assert_non_null(strstr(err, "ip:127.0.0.1:1: cannot reach iiod"));
        assert_non_null(strstr(err, "fix uri= in the config"));
        /* stop and free are safe on what never started */
        assert_int_equal(iio_source_stop(NULL), 0);
        assert_null(iio_source_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auto_emg),
                cmocka_unit_test(test_auto_imu),
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_list_errors),
                cmocka_unit_test(test_open),
                cmocka_unit_test(test_uri_kept),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
