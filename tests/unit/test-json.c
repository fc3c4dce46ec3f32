/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json.h"

static void assert_escapes(const char *in, const char *want) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        assert_non_null(f);
        assert_int_equal(json_write_string(f, in), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(out, want);
        free(out);
}

static void test_plain(void **state) {
        (void) state;
        assert_escapes("", "\"\"");
        assert_escapes("emg_left", "\"emg_left\"");
        assert_escapes("/tmp/a b/rec.csv", "\"/tmp/a b/rec.csv\"");
}

static void test_quotes_and_backslash(void **state) {
        (void) state;
        assert_escapes("say \"hi\"", "\"say \\\"hi\\\"\"");
        assert_escapes("C:\\data\\", "\"C:\\\\data\\\\\"");
        assert_escapes("/", "\"/\"");
}

static void test_control_chars(void **state) {
        (void) state;
        assert_escapes("a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
        assert_escapes("\x01\x1f\x1b[0m", "\"\\u0001\\u001f\\u001b[0m\"");
        assert_escapes("\x7f", "\"\x7f\"");
}

static void test_utf8_passthrough(void **state) {
        (void) state;
        assert_escapes("\xC2\xB5V", "\"\xC2\xB5V\"");                 /* µV */
        assert_escapes("\xE2\x82\xAC 5", "\"\xE2\x82\xAC 5\"");       /* € */
        assert_escapes("\xF0\x9F\x92\xAA", "\"\xF0\x9F\x92\xAA\"");   /* U+1F4AA */
        assert_escapes("\xEF\xBF\xBF", "\"\xEF\xBF\xBF\"");           /* U+FFFF */
        assert_escapes("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"");   /* U+10FFFF */
}

static void test_invalid_utf8(void **state) {
        (void) state;
        assert_escapes("a\xFFz", "\"a\\ufffdz\"");
        assert_escapes("\x80", "\"\\ufffd\"");                        /* lone continuation */
        assert_escapes("end\xC3", "\"end\\ufffd\"");                  /* cut off at the end */
        assert_escapes("\xE2\x82z", "\"\\ufffd\\ufffdz\"");           /* cut off in the middle */
        assert_escapes("\xC0\xAF", "\"\\ufffd\\ufffd\"");             /* overlong '/' */
        assert_escapes("\xED\xA0\x80", "\"\\ufffd\\ufffd\\ufffd\"");  /* surrogate */
        assert_escapes("\xF4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
}

static void test_number(void **state) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        (void) state;
        assert_non_null(f);
        assert_int_equal(json_write_number(f, 1.23456, 3), 0);
        fputc(' ', f);
        assert_int_equal(json_write_number(f, -2.0, 2), 0);
        fputc(' ', f);
        assert_int_equal(json_write_number(f, NAN, 2), 0);
        fputc(' ', f);
        assert_int_equal(json_write_number(f, -INFINITY, 3), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(out, "1.235 -2.00 null null");
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_quotes_and_backslash),
                cmocka_unit_test(test_control_chars),
                cmocka_unit_test(test_utf8_passthrough),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_number),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
