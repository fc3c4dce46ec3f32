/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char err[1024];

static int load(const char *text, struct spasmd_config *c) {
        err[0] = '\0';
        return config_load_string(text, "test.conf", c, err, sizeof(err));
}

static void expect_error(const char *text, const char *needle1, const char *needle2) {
        struct spasmd_config c;
        config_defaults(&c);
        c.n_sensors = 99; /* untouched on error */
        assert_int_equal(load(text, &c), -EINVAL);
        assert_int_equal(c.n_sensors, 99);
        if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
                fail_msg("message \"%s\" lacks \"%s\"/\"%s\"", err, needle1, needle2 ? needle2 : "");
}

static void test_defaults(void **state) {
        (void) state;
        struct spasmd_config c;
        assert_int_equal(load("", &c), 0);
        assert_int_equal(c.n_sensors, 0);
        assert_true(c.detector.on_ratio == 4.0);
        assert_true(c.detector.spasm_min_s == 1.0);
}

static void test_full(void **state) {
        (void) state;
        struct spasmd_config c;
        const char *text =
                "; comment\n"
                "[detector]\n"
                "on_ratio = 5\n"
                "spasm_min_s = 1.5\n"
                "\n"
                "[sensor.lumbar]\n"
                "uri = local:                 ; inline comment\n"
                "device = ads1298\n"
                "channels = voltage0:emg_left, voltage1:emg_right\n"
                "sample_rate = 1000\n"
                "buffer_ms = 20\n"
                "\n"
                "[sensor.imu]\n"
                "uri = ip:127.0.0.1:30431\n"
                "device = bmi160\n"
                "role = imu\n"
                "\n"
                "[sensor.demo]\n"
                "uri = replay:/tmp/x.csv\n"
                "speed = 0\n";
        assert_int_equal(load(text, &c), 0);
        assert_true(c.detector.on_ratio == 5.0);
        assert_true(c.detector.spasm_min_s == 1.5);
        assert_int_equal(c.n_sensors, 3);
        assert_string_equal(c.sensors[0].name, "lumbar");
        assert_string_equal(c.sensors[0].uri, "local:");
        assert_string_equal(c.sensors[0].device, "ads1298");
        assert_string_equal(c.sensors[0].channels, "voltage0:emg_left, voltage1:emg_right");
        assert_int_equal(c.sensors[0].buffer_ms, 20);
        assert_true(c.sensors[0].sample_rate == 1000);
        assert_int_equal(c.sensors[1].role, SENSOR_ROLE_IMU);
        assert_string_equal(c.sensors[1].channels, "auto");
        assert_int_equal(c.sensors[1].buffer_ms, 50);
        assert_true(sensor_config_is_replay(&c.sensors[2]));
        assert_true(c.sensors[2].speed == 0.0);

        char *dump = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&dump, &len);
        assert_non_null(f);
        config_dump(&c, f);
        fclose(f);
        assert_non_null(strstr(dump, "[sensor.imu]\nuri = ip:127.0.0.1:30431\ndevice = bmi160\n"));
        assert_non_null(strstr(dump, "on_ratio = 5\n"));
        /* what is dumped reads back the same */
        struct spasmd_config again;
        assert_int_equal(load(dump, &again), 0);
        assert_int_equal(again.n_sensors, 3);
        assert_string_equal(again.sensors[0].channels, c.sensors[0].channels);
        free(dump);
}

static void test_errors(void **state) {
        (void) state;
        expect_error("[detectr]\non_ratio = 3\n", "test.conf:1:", "unknown section [detectr]");
        expect_error("[detector]\nonratio = 3\n", "test.conf:2: unknown key onratio", "on_ratio, off_ratio");
        expect_error("[detector]\non_ratio = 0.5\n", "test.conf:2: on_ratio=0.5", "1.5 to 100");
        expect_error("[detector]\non_ratio = abc\n", "test.conf:2: on_ratio=abc", NULL);
        expect_error("[detector]\non_ratio = nan\n", "on_ratio=nan", NULL);
        expect_error("[detector]\non_ratio = 5\n\non_ratio = 6\n", "test.conf:4: on_ratio is set twice", NULL);
        expect_error("[detector]\non_ratio = 3\noff_ratio = 3\n", "off_ratio=3 must be below on_ratio=3", NULL);
        expect_error("[sensor.a]\ndevice = x\n", "test.conf:1: [sensor.a] has no uri=", "replay:");
        expect_error("[sensor.a]\nuri = http://x\ndevice = x\n", "uri=http://x", "ip:HOST");
        expect_error("[sensor.a]\nuri = local:\n", "[sensor.a] has no device=", NULL);
        expect_error("[sensor.a b]\nuri = local:\n", "[sensor.a b]", "letters, digits or _");
        expect_error("[sensor.a]\nuri = local:\ndevice = x\nbuffer_ms = 0\n", "test.conf:4: buffer_ms=0", "5 to 1000");
        expect_error("[sensor.a]\nuri = local:\ndevice = x\nbuffer_ms = -5\n", "buffer_ms=-5", NULL);
        expect_error("[sensor.a]\nuri = local:\ndevice = x\nrole = leg\n", "role=leg", "auto, emg or imu");
        expect_error("[sensor.a]\nuri = local:\ndevice = x\nsample_rate = 10\n", "sample_rate=10", "0 or 50 to 20000");
        expect_error("[detector]\nthis is not ini\n", "test.conf:2: not an INI line", NULL);
}

static void test_dropins(void **state) {
        (void) state;
        char dir[] = "/tmp/spasmd-config-XXXXXX";
        char path[256], dropins[256], file[300];
        struct spasmd_config c;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/spasmd.conf", dir);
        snprintf(dropins, sizeof(dropins), "%s/spasmd.conf.d", dir);
        assert_int_equal(mkdir(dropins, 0755), 0);

        FILE *f = fopen(path, "w");
        fputs("[detector]\non_ratio = 5\n[sensor.lumbar]\nuri = local:\ndevice = ads1298\n", f);
        fclose(f);
        snprintf(file, sizeof(file), "%s/20-later.conf", dropins);
        f = fopen(file, "w");
        fputs("[detector]\non_ratio = 7\n", f);
        fclose(f);
        snprintf(file, sizeof(file), "%s/10-first.conf", dropins);
        f = fopen(file, "w");
        fputs("[detector]\non_ratio = 6\n[sensor.lumbar]\nbuffer_ms = 20\n", f);
        fclose(f);
        snprintf(file, sizeof(file), "%s/ignored.txt", dropins);
        f = fopen(file, "w");
        fputs("garbage\n", f);
        fclose(f);

        if (config_load(path, NULL, false, &c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_true(c.detector.on_ratio == 7.0); /* lexical order: the last one wins */
        assert_int_equal(c.n_sensors, 1);
        assert_int_equal(c.sensors[0].buffer_ms, 20);

        /* a bad drop-in names itself and its line, and nothing is returned */
        snprintf(file, sizeof(file), "%s/30-bad.conf", dropins);
        f = fopen(file, "w");
        fputs("[detector]\n\nspasm_min_s = 99\n", f);
        fclose(f);
        c.n_sensors = 42;
        assert_int_equal(config_load(path, NULL, false, &c, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "30-bad.conf:3: spasm_min_s=99"));
        assert_int_equal(c.n_sensors, 42);
        unlink(file);

        /* missing main file: an error unless allowed */
        char missing[300];
        snprintf(missing, sizeof(missing), "%s/nope.conf", dir);
        assert_int_equal(config_load(missing, dropins, false, &c, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "nope.conf"));
        /* allowed, the drop-ins alone apply: here they name a sensor without a uri */
        assert_int_equal(config_load(missing, dropins, true, &c, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "10-first.conf:3: [sensor.lumbar] has no uri="));

        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/* A file a power cut left as NUL bytes must not read as an empty, valid configuration. */
static void test_nul_bytes(void **state) {
        (void) state;
        char path[] = "/tmp/spasmd-config-nul-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        static const char zeros[200];
        assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t) sizeof(zeros));
        close(fd);

        struct spasmd_config c;
        config_defaults(&c);
        c.n_sensors = 42;
        assert_int_equal(config_load(path, NULL, false, &c, err, sizeof(err)), -EINVAL);
        if (!strstr(err, ":1: NUL byte"))
                fail_msg("message \"%s\" does not name line 1 and the NUL byte", err);
        assert_int_equal(c.n_sensors, 42);

        /* one NUL at the end of an otherwise good third line */
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("[detector]\non_ratio = 5\noff_ratio = 2", f);
        fputc('\0', f);
        fputs("\n", f);
        fclose(f);
        assert_int_equal(config_load(path, NULL, false, &c, err, sizeof(err)), -EINVAL);
        if (!strstr(err, ":3: NUL byte"))
                fail_msg("message \"%s\" does not name line 3", err);
        unlink(path);
}

static void test_shipped_config_parses(void **state) {
        (void) state;
        struct spasmd_config c;
        assert_int_equal(config_load("conf/spasmd.conf", "/nonexistent", false, &c, err, sizeof(err)), 0);
        struct spasmd_config d;
        config_defaults(&d);
        /* every key is commented out: the shipped file is the defaults */
        assert_memory_equal(&c.detector, &d.detector, sizeof(d.detector));
}

static void test_service_sections(void **state) {
        (void) state;
        struct spasmd_config c, d;
        config_defaults(&d);
        assert_true(d.daemon.monitoring);
        assert_int_equal(d.history.max_age_days, 365);
        assert_int_equal(d.history.max_size_mb, 64);
        assert_int_equal(d.advisory.max_spasms_per_day, 5);
        assert_int_equal(d.advisory.max_spasm_minutes, 10);
        assert_true(d.advisory.trend);

        assert_int_equal(load("[daemon]\nmonitoring = no\n[history]\ndirectory = /srv/spasmd\nmax_age_days = 30\n"
                              "max_size_mb = 2\n[advisory]\nmax_spasms_per_day = 3\nmax_spasm_minutes = 20\n"
                              "trend = off\n", &c), 0);
        assert_false(c.daemon.monitoring);
        assert_string_equal(c.history.directory, "/srv/spasmd");
        assert_int_equal(c.history.max_age_days, 30);
        assert_int_equal(c.history.max_size_mb, 2);
        assert_int_equal(c.advisory.max_spasms_per_day, 3);
        assert_int_equal(c.advisory.max_spasm_minutes, 20);
        assert_false(c.advisory.trend);

        assert_int_equal(load("[history]\ndirectory = var/lib\n", &c), -EINVAL);
        assert_non_null(strstr(err, "test.conf:2: directory=var/lib: use an absolute path"));
        assert_int_equal(load("[daemon]\nmonitoring = maybe\n", &c), -EINVAL);
        assert_non_null(strstr(err, "monitoring=maybe: use yes or no"));
        assert_int_equal(load("[advisory]\nmax_spasms_per_day = 0\n", &c), -EINVAL);
        assert_non_null(strstr(err, "a count from 1 to 1000"));
        assert_int_equal(load("[advisory]\ntrend = yes\ntrend = no\n", &c), -EINVAL);
        assert_non_null(strstr(err, "test.conf:3: trend is set twice in [advisory]"));
        assert_int_equal(load("[history]\nretention = 3\n", &c), -EINVAL);
        assert_non_null(strstr(err, "allowed here: directory, max_age_days, max_size_mb"));
        /* a misspelt section is an error even with no key under it */
        assert_int_equal(load("[detector]\non_ratio = 5\n\n[histroy]\n", &c), -EINVAL);
        assert_non_null(strstr(err, "test.conf:4: unknown section [histroy]"));
        assert_non_null(strstr(err, "[history], [advisory]"));
        assert_int_equal(load("[history]\nmax_size_mb = 1025\n", &c), -EINVAL);
        assert_non_null(strstr(err, "MiB from 1 to 1024"));
        /* inih reads at most 200 bytes a line: a longer one is refused, not split */
        char text[400];
        snprintf(text, sizeof(text), "[sensor.a]\nuri = replay:/%0250d\n", 0);
        assert_int_equal(load(text, &c), -EINVAL);
        assert_non_null(strstr(err, "test.conf:2: line longer than"));
}

/* The shipped file documents every default: uncommented, it must parse to exactly them. */
static void test_shipped_defaults_are_real(void **state) {
        (void) state;
        FILE *in = fopen("conf/spasmd.conf", "re");
        assert_non_null(in);
        char text[16384] = "", line[512];
        size_t keys = 0;
        while (fgets(line, sizeof(line), in)) {
                const char *l = line;
                /* "#key = value" is a default; "# words" and "#[sensor.x]" examples are not. */
                if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = ") &&
                    !strstr(text, "[sensor.")) {
                        l = line + 1;
                        keys++;
                }
                if (line[0] == '#' && strncmp(line, "#[sensor.", 9) == 0)
                        break;
                else if (!strstr(text, "[sensor.")) /* the example sensor's keys stay comments */
                        strncat(text, l, sizeof(text) - strlen(text) - 1);
        }
        fclose(in);
        assert_true(keys >= 11);
        struct spasmd_config c, d;
        assert_int_equal(config_load_string(text, "spasmd.conf", &c, err, sizeof(err)), 0);
        config_defaults(&d);
        assert_memory_equal(&c.daemon, &d.daemon, sizeof(d.daemon));
        assert_memory_equal(&c.history, &d.history, sizeof(d.history));
        assert_memory_equal(&c.advisory, &d.advisory, sizeof(d.advisory));
        assert_memory_equal(&c.detector, &d.detector, sizeof(d.detector));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_dropins),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_shipped_config_parses),
                cmocka_unit_test(test_service_sections),
                cmocka_unit_test(test_shipped_defaults_are_real),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
