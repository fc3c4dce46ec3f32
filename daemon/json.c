/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at s, or 0: overlong forms and surrogates are not valid. */
static size_t utf8_len(const unsigned char *s) {
        uint32_t cp, min;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        /* 0x80..0xBF cannot start a sequence, 0xF8.. never occur. */
        if (s[0] < 0xC0 || s[0] >= 0xF8)
                return 0;
        len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
        cp = s[0] & (0x7Fu >> len);
        min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        /* The terminating NUL fails this test, so a cut-off sequence never reads past it. */
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

int json_write_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                size_t len = utf8_len(p);

                if (len == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                if (len > 1) {
                        fwrite(p, 1, len, f);
                        p += len;
                        continue;
                }
                switch (*p) {
                case '"':  fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (*p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
                p++;
        }
        fputc('"', f);
        return ferror(f) ? -EIO : 0;
}

int json_write_number(FILE *f, double v, int decimals) {
        if (isfinite(v))
                fprintf(f, "%.*f", decimals, v);
        else
                fputs("null", f);
        return ferror(f) ? -EIO : 0;
}
