/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "recording.h"

#define SHARED_DATA "../shared/data/emg-real"
#define HEAD "# spasmd-recording v1\n# rate_hz=1000\n"

#define assert_contains(hay, needle)                                                    \
        do {                                                                            \
                if (!strstr((hay), (needle)))                                           \
                        fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));    \
        } while (0)

static char tmp_path[64];

/* The file is unlinked once opened, so a failed assertion leaves nothing behind in /tmp. */
static int open_bytes(const char *text, size_t len, struct recording **ret, char *err, size_t errlen) {
        int fd, k;

        snprintf(tmp_path, sizeof tmp_path, "/tmp/test-recording-XXXXXX");
        fd = mkstemp(tmp_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
        k = recording_open(tmp_path, ret, err, errlen);
        assert_int_equal(unlink(tmp_path), 0);
        return k;
}

static int open_text(const char *text, struct recording **ret, char *err, size_t errlen) {
        return open_bytes(text, strlen(text), ret, err, errlen);
}

/* The message must start "PATH:LINE:COL: " (or "PATH:LINE: " for col 0) and say what is wrong. */
static void assert_message(const char *err, unsigned long line, unsigned col, const char *what) {
        char want[128];

        if (col > 0)
                snprintf(want, sizeof want, "%s:%lu:%u: ", tmp_path, line, col);
        else
                snprintf(want, sizeof want, "%s:%lu: ", tmp_path, line);
        if (strncmp(err, want, strlen(want)) != 0)
                fail_msg("\"%s\" does not start with \"%s\"", err, want);
        assert_contains(err, what);
}

static void expect_open_error(const char *text, unsigned long line, unsigned col, const char *what) {
        struct recording *r = NULL;
        char err[1024] = "";

        assert_int_equal(open_text(text, &r, err, sizeof err), -EBADMSG);
        assert_null(r);
        assert_message(err, line, col, what);
}

/* Opens fine, then some row fails; the error must stick on the next call. */
static void expect_row_error(const char *text, unsigned long line, unsigned col, const char *what) {
        struct recording *r = NULL;
        char err[1024] = "", err2[1024] = "";
        float emg[16];
        int k;

        assert_int_equal(open_text(text, &r, err, sizeof err), 0);
        while ((k = recording_read_frame(r, emg, NULL, NULL, err, sizeof err)) == 1)
                ;
        assert_int_equal(k, -EBADMSG);
        assert_message(err, line, col, what);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err2, sizeof err2), -EBADMSG);
        assert_string_equal(err, err2);
        recording_free(r);
}

/* --- errors in the head --------------------------------------------------------- */

static void test_empty_file(void **state) {
        (void) state;
        expect_open_error("", 1, 0, "file is empty");
}

static void test_missing_first_line(void **state) {
        (void) state;
        expect_open_error("t_s,emg_a\n0,1\n", 1, 0, "first line must be exactly '# spasmd-recording v1'");
}

static void test_wrong_first_line(void **state) {
        (void) state;
        expect_open_error("# spasmd-recording v2\n# rate_hz=1000\nemg_a\n1\n", 1, 0, "unsupported format");
        expect_open_error("#spasmd-recording v1\n# rate_hz=1000\nemg_a\n1\n", 1, 0, "first line must be");
}

static void test_bom(void **state) {
        (void) state;
        expect_open_error("\xEF\xBB\xBF# spasmd-recording v1\n# rate_hz=1000\nemg_a\n1\n", 1, 0, "byte-order mark");
}

static void test_missing_rate(void **state) {
        (void) state;
        expect_open_error("# spasmd-recording v1\n# note=x\nemg_a\n1\n", 3, 0, "no rate_hz");
}

static void test_rate_out_of_range(void **state) {
        (void) state;
        expect_open_error("# spasmd-recording v1\n# rate_hz=49.9\nemg_a\n1\n", 2, 0, "out of range");
        expect_open_error("# spasmd-recording v1\n# rate_hz=20001\nemg_a\n1\n", 2, 0, "out of range");
}

static void test_rate_not_a_number(void **state) {
        (void) state;
        expect_open_error("# spasmd-recording v1\n# rate_hz=1k\nemg_a\n1\n", 2, 0, "not a number");
        expect_open_error("# spasmd-recording v1\n# rate_hz=nan\nemg_a\n1\n", 2, 0, "not a number");
        expect_open_error("# spasmd-recording v1\n# rate_hz=\nemg_a\n1\n", 2, 0, "not a number");
}

static void test_rate_twice(void **state) {
        (void) state;
        expect_open_error(HEAD "# rate_hz=500\nemg_a\n1\n", 3, 0, "rate_hz is given twice");
}

static void test_no_header(void **state) {
        (void) state;
        expect_open_error(HEAD, 3, 0, "no header row");
}

static void test_blank_line_in_head(void **state) {
        (void) state;
        expect_open_error(HEAD "\nemg_a\n1\n", 3, 0, "blank line");
}

static void test_no_emg_column(void **state) {
        (void) state;
        expect_open_error(HEAD "t_s,acc_x\n0,1\n", 3, 0, "no EMG column");
        expect_open_error(HEAD "t_s,emg_\n0,1\n", 3, 2, "no site");
}

static void test_too_many_emg(void **state) {
        char text[1024] = HEAD "t_s";

        (void) state;
        for (int i = 1; i <= 17; i++)
                snprintf(text + strlen(text), sizeof text - strlen(text), ",emg_%d", i);
        strcat(text, "\n");
        expect_open_error(text, 3, 18, "more than the 16");
}

static void test_too_many_columns(void **state) {
        char text[2048] = HEAD "emg_a";

        (void) state;
        for (int i = 2; i <= 65; i++)
                snprintf(text + strlen(text), sizeof text - strlen(text), ",x%d", i);
        strcat(text, "\n");
        expect_open_error(text, 3, 65, "more than 64 columns");
}

static void test_duplicate_column(void **state) {
        (void) state;
        expect_open_error(HEAD "t_s,emg_a,emg_b,emg_a\n", 3, 4, "'emg_a' repeats column 2");
        expect_open_error(HEAD "t_s,emg_a,foo,foo\n", 3, 4, "'foo' repeats column 3");
}

static void test_empty_column_name(void **state) {
        (void) state;
        expect_open_error(HEAD "t_s,emg_a,\n", 3, 3, "has no name");
}

static void test_partial_imu(void **state) {
        (void) state;
        expect_open_error(HEAD "emg_a,acc_x,acc_y,acc_z,gyr_x\n", 3, 0, "missing gyr_y, gyr_z");
}

static void test_header_too_long(void **state) {
        size_t n = strlen(HEAD) + RECORDING_MAX_LINE + 16;
        char *text = malloc(n + 1);

        (void) state;
        assert_non_null(text);
        strcpy(text, HEAD "emg_a,");
        memset(text + strlen(text), 'x', n - strlen(text));
        text[n] = '\0';
        expect_open_error(text, 3, 0, "longer than 65536 bytes");
        free(text);
}

static void test_missing_file(void **state) {
        struct recording *r = NULL;
        char err[256] = "";

        (void) state;
        assert_int_equal(recording_open("/nonexistent/spasmd/x.csv", &r, err, sizeof err), -ENOENT);
        assert_null(r);
        assert_contains(err, "/nonexistent/spasmd/x.csv");
}

static void test_nul_byte(void **state) {
        static const char text[] = HEAD "emg_a\n1\n2\0\n";
        struct recording *r = NULL;
        char err[256] = "";
        float emg[1];

        (void) state;
        assert_int_equal(open_bytes(text, sizeof text - 1, &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 1);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), -EBADMSG);
        assert_message(err, 5, 0, "NUL byte");
        recording_free(r);
}

/* --- errors in rows ------------------------------------------------------------- */

static void test_bad_number(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a,emg_b\n0,1,2\n0.001,1.2.3,2\n", 5, 2, "'1.2.3' in column 'emg_a'");
        expect_row_error(HEAD "t_s,emg_a,emg_b\n0,1,abc\n", 4, 3, "'abc' in column 'emg_b' is not a number");
        expect_row_error(HEAD "t_s,emg_a\nx0,1\n", 4, 1, "'x0' in column 't_s' is not a number");
}

static void test_empty_field(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a,emg_b\n0,,2\n", 4, 2, "column 'emg_a' is empty");
        expect_row_error(HEAD "t_s,emg_a,emg_b\n0,1, \n", 4, 3, "column 'emg_b' is empty");
}

static void test_too_many_fields(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a\n0,1\n0.001,1,2\n", 5, 3, "row has 3 fields but the header has 2");
}

static void test_too_few_fields(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a,emg_b\n0,1\n", 4, 3, "row has 2 fields but the header has 3");
}

static void test_nan(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a\n0,nan\n", 4, 2, "'nan' in column 'emg_a' is not a finite number");
        expect_row_error(HEAD "t_s,emg_a\nNaN,1\n", 4, 1, "not a finite number");
}

static void test_inf(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a\n0,-inf\n", 4, 2, "'-inf' in column 'emg_a' is not a finite number");
        expect_row_error(HEAD "t_s,emg_a\n0,Infinity\n", 4, 2, "not a finite number");
}

static void test_overflow(void **state) {
        (void) state;
        expect_row_error(HEAD "t_s,emg_a\n0,1e999\n", 4, 2, "'1e999' in column 'emg_a' is not a finite number");
        /* Finite as a double, not as a float sample, once volts become microvolts. */
        expect_row_error("# spasmd-recording v1\n# rate_hz=1000\n# units=V\nemg_a\n1e33\n", 5, 1, "too large");
}

static void test_blank_line_in_rows(void **state) {
        (void) state;
        expect_row_error(HEAD "emg_a\n1\n\n2\n", 5, 0, "blank line");
        expect_row_error(HEAD "emg_a\n1\n\r\n", 5, 0, "blank line");
}

static void test_comment_after_header(void **state) {
        (void) state;
        expect_row_error(HEAD "emg_a\n1\n# note=late\n", 5, 0, "after the header row");
}

static void test_row_too_long(void **state) {
        size_t head = strlen(HEAD "emg_a\n"), n;
        struct recording *r = NULL;
        char err[256] = "", *text;
        float emg[1];

        (void) state;
        /* Exactly 64 KiB (plus CR) is allowed, one byte more is not. */
        n = head + RECORDING_MAX_LINE + 2 + RECORDING_MAX_LINE + 1;
        text = malloc(n + 1);
        assert_non_null(text);
        strcpy(text, HEAD "emg_a\n");
        memset(text + head, ' ', n - head);
        memcpy(text + head + RECORDING_MAX_LINE - 1, "1\r\n", 3);
        memcpy(text + n - 1, "2", 1);
        assert_int_equal(open_bytes(text, n, &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 1);
        assert_true(emg[0] == 1.0f);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), -EBADMSG);
        assert_message(err, 5, 0, "longer than 65536 bytes");
        recording_free(r);
        free(text);
}

/* --- good files ----------------------------------------------------------------- */

static void test_time_column(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[2];
        double t;

        (void) state;
        assert_int_equal(open_text(HEAD "emg_a,t_s,emg_b\n1,10.5,2\n3,10.501,4\n", &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 1);
        assert_true(t == 10.5);
        assert_true(emg[0] == 1.0f && emg[1] == 2.0f);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 1);
        assert_true(t == 10.501);
        assert_true(emg[0] == 3.0f && emg[1] == 4.0f);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 0);
        recording_free(r);
}

static void test_no_time_column(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[1], imu[6];
        double t;

        (void) state;
        assert_int_equal(open_text("# spasmd-recording v1\n# rate_hz=250\nemg_a\n1\n2\n3\n", &r, err, sizeof err), 0);
        assert_false(recording_has_imu(r));
        for (int i = 0; i < 3; i++) {
                assert_int_equal(recording_read_frame(r, emg, imu, &t, err, sizeof err), 1);
                assert_true(fabs(t - i / 250.0) < 1e-12);
                assert_true(emg[0] == (float) (i + 1));
                assert_true(isnan(imu[0]) && isnan(imu[5]));
        }
        assert_int_equal(recording_read_frame(r, emg, imu, &t, err, sizeof err), 0);
        recording_free(r);
}

static void test_units(void **state) {
        static const struct {
                const char *line;
                float want;
                bool known;
        } cases[] = {
                { "", 2.5f, true },
                { "# units=uV\n", 2.5f, true },
                { "# units=\xC2\xB5V\n", 2.5f, true },
                { "# units=mV\n", 2500.0f, true },
                { "# units=V\n", 2500000.0f, true },
                { "# units=Myo int8 counts; absolute scale unknown\n", 2.5f, false },
        };

        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct recording *r = NULL;
                char text[256], err[256] = "";
                float emg[1];

                snprintf(text, sizeof text, HEAD "%st_s,emg_a\n2.5,2.5\n", cases[i].line);
                assert_int_equal(open_text(text, &r, err, sizeof err), 0);
                assert_int_equal(recording_emg_units_known(r), cases[i].known);
                assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 1);
                assert_true(fabsf(emg[0] - cases[i].want) <= 1e-6f * cases[i].want);
                recording_free(r);
        }
}

static void test_meta(void **state) {
        struct recording *r = NULL;
        char err[256] = "";

        (void) state;
        assert_int_equal(open_text("# spasmd-recording v1\n#   rate_hz = 500  \n# note=first\n# a plain comment\n"
                                   "# note=second = really\n# units=Myo counts\nemg_a\n", &r, err, sizeof err), 0);
        assert_true(recording_rate_hz(r) == 500.0);
        assert_string_equal(recording_meta(r, "note"), "second = really");
        assert_string_equal(recording_meta(r, "rate_hz"), "500");
        assert_string_equal(recording_meta(r, "units"), "Myo counts");
        assert_null(recording_meta(r, "a plain comment"));
        assert_null(recording_meta(r, "source"));
        assert_false(recording_emg_units_known(r));
        recording_free(r);
}

static void test_imu(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[2], imu[6];

        (void) state;
        assert_int_equal(open_text(HEAD "gyr_z,gyr_y,gyr_x,emg_l,acc_z,acc_y,acc_x,emg_r\n"
                                   "6,5,4,-1,3,2,1,-2\n", &r, err, sizeof err), 0);
        assert_true(recording_has_imu(r));
        assert_int_equal(recording_n_emg(r), 2);
        assert_string_equal(recording_emg_name(r, 0), "emg_l");
        assert_string_equal(recording_emg_name(r, 1), "emg_r");
        assert_null(recording_emg_name(r, 2));
        assert_int_equal(recording_read_frame(r, emg, imu, NULL, err, sizeof err), 1);
        assert_true(emg[0] == -1.0f && emg[1] == -2.0f);
        for (int i = 0; i < 6; i++)
                assert_true(imu[i] == (float) (i + 1));
        /* A caller that does not want the IMU still gets the row checked. */
        recording_free(r);
        assert_int_equal(open_text(HEAD "emg_l,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n1,1,1,1,1,1,x\n",
                                   &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), -EBADMSG);
        assert_message(err, 4, 7, "'x' in column 'gyr_z'");
        recording_free(r);
}

static void test_unknown_columns(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[1];

        (void) state;
        assert_int_equal(open_text(HEAD "t_s,emg_a,knee_angle_deg,mood\n0,1,not a number,happy\n",
                                   &r, err, sizeof err), 0);
        assert_non_null(recording_warning(r));
        assert_contains(recording_warning(r), tmp_path);
        assert_contains(recording_warning(r), ":3: ");
        assert_contains(recording_warning(r), "knee_angle_deg");
        assert_contains(recording_warning(r), "mood");
        assert_null(strstr(recording_warning(r), "emg_a"));
        assert_false(recording_has_imu(r));
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 1);
        assert_true(emg[0] == 1.0f);
        recording_free(r);

        assert_int_equal(open_text(HEAD "t_s,emg_a\n", &r, err, sizeof err), 0);
        assert_null(recording_warning(r));
        recording_free(r);
}

static void test_crlf_and_no_final_newline(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[2];
        double t;

        (void) state;
        assert_int_equal(open_text("# spasmd-recording v1\r\n# rate_hz=1000\r\n# units=mV\r\n"
                                   "t_s, emg_a ,emg_b\r\n0,1,2\r\n0.001, 3 ,4", &r, err, sizeof err), 0);
        assert_true(recording_emg_units_known(r));
        assert_string_equal(recording_emg_name(r, 0), "emg_a");
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 1);
        assert_true(emg[0] == 1000.0f && emg[1] == 2000.0f);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 1);
        assert_true(t == 0.001 && emg[0] == 3000.0f && emg[1] == 4000.0f);
        assert_int_equal(recording_line(r), 6);
        assert_int_equal(recording_read_frame(r, emg, NULL, &t, err, sizeof err), 0);
        recording_free(r);
}

static void test_header_only(void **state) {
        struct recording *r = NULL;
        char err[256] = "";
        float emg[1];

        (void) state;
        assert_int_equal(open_text(HEAD "t_s,emg_a\n", &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 0);
        recording_free(r);
        /* Header with no final newline. */
        assert_int_equal(open_text(HEAD "t_s,emg_a", &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 0);
        recording_free(r);
}

static void test_open_stream(void **state) {
        static const char text[] = HEAD "emg_a\n1\n2,3\n";
        struct recording *r = NULL;
        char err[256] = "";
        float emg[1];
        FILE *f;

        (void) state;
        f = fmemopen((void *) text, sizeof text - 1, "r");
        assert_non_null(f);
        assert_int_equal(recording_open_stream(f, "<memory>", &r, err, sizeof err), 0);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), 1);
        assert_int_equal(recording_read_frame(r, emg, NULL, NULL, err, sizeof err), -EBADMSG);
        assert_contains(err, "<memory>:5:2: ");
        recording_free(r);
        assert_int_equal(fclose(f), 0);
}

/* --- the shared real recordings -------------------------------------------------- */

static unsigned long read_all(const char *path, struct recording **ret) {
        struct recording *r = NULL;
        char err[1024] = "";
        float emg[16], imu[6];
        unsigned long n = 0;
        int k;

        k = recording_open(path, &r, err, sizeof err);
        if (k < 0)
                fail_msg("%s", err);
        while ((k = recording_read_frame(r, emg, imu, NULL, err, sizeof err)) == 1)
                n++;
        if (k < 0)
                fail_msg("%s", err);
        *ret = r;
        return n;
}

static void test_shared_data(void **state) {
        struct recording *r;
        unsigned n_files = 0;
        glob_t g;

        (void) state;
        if (glob(SHARED_DATA "/*.csv", 0, NULL, &g) != 0) {
                print_message("no recordings under " SHARED_DATA " (run from the project root)\n");
                skip();
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *p = g.gl_pathv[i];
                size_t len = strlen(p);

                /* NAME.labels.csv files hold onset/offset marks, not samples. */
                if (len > 11 && strcmp(p + len - 11, ".labels.csv") == 0)
                        continue;
                assert_true(read_all(p, &r) > 0);
                recording_free(r);
                n_files++;
        }
        globfree(&g);
        assert_true(n_files > 0);

        assert_int_equal(read_all(SHARED_DATA "/myo_wrist_p12345_1.csv", &r), 11936);
        assert_true(recording_rate_hz(r) == 200.0);
        assert_int_equal(recording_n_emg(r), 8);
        assert_string_equal(recording_emg_name(r, 7), "emg_8");
        assert_false(recording_emg_units_known(r));
        assert_false(recording_has_imu(r));
        assert_null(recording_warning(r));
        recording_free(r);

        assert_true(read_all(SHARED_DATA "/uci_lower_limb_5N_mar.csv", &r) > 0);
        assert_true(recording_rate_hz(r) == 1000.0);
        assert_int_equal(recording_n_emg(r), 4);
        assert_string_equal(recording_emg_name(r, 0), "emg_rectus_femoris");
        assert_true(recording_emg_units_known(r));
        assert_non_null(recording_warning(r));
        assert_contains(recording_warning(r), "knee_angle_deg");
        recording_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_file),
                cmocka_unit_test(test_missing_first_line),
                cmocka_unit_test(test_wrong_first_line),
                cmocka_unit_test(test_bom),
                cmocka_unit_test(test_missing_rate),
                cmocka_unit_test(test_rate_out_of_range),
                cmocka_unit_test(test_rate_not_a_number),
                cmocka_unit_test(test_rate_twice),
                cmocka_unit_test(test_no_header),
                cmocka_unit_test(test_blank_line_in_head),
                cmocka_unit_test(test_no_emg_column),
                cmocka_unit_test(test_too_many_emg),
                cmocka_unit_test(test_too_many_columns),
                cmocka_unit_test(test_duplicate_column),
                cmocka_unit_test(test_empty_column_name),
                cmocka_unit_test(test_partial_imu),
                cmocka_unit_test(test_header_too_long),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_bad_number),
                cmocka_unit_test(test_empty_field),
                cmocka_unit_test(test_too_many_fields),
                cmocka_unit_test(test_too_few_fields),
                cmocka_unit_test(test_nan),
                cmocka_unit_test(test_inf),
                cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_blank_line_in_rows),
                cmocka_unit_test(test_comment_after_header),
                cmocka_unit_test(test_row_too_long),
                cmocka_unit_test(test_time_column),
                cmocka_unit_test(test_no_time_column),
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_meta),
                cmocka_unit_test(test_imu),
                cmocka_unit_test(test_unknown_columns),
                cmocka_unit_test(test_crlf_and_no_final_newline),
                cmocka_unit_test(test_header_only),
                cmocka_unit_test(test_open_stream),
                cmocka_unit_test(test_shared_data),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
