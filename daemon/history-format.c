/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The bytes of a history file: encoding, decoding and the scan that
 * recovers from torn and corrupt data. No I/O, no allocation, so the
 * fuzz target links this alone.
 */

#include <errno.h>
#include <string.h>

#include "history.h"

/* Offsets in the v1 payload. */
enum {
        P_ID = 0,
        P_ONSET = 8,
        P_DURATION = 16,
        P_CLASS = 24,
        P_POSTURE = 28,
        P_CHANNELS = 32,
        P_PEAK = 36,
        P_MEAN = 40,
        P_INTENSITY = 44,
        P_MVC = 48,
        P_PULSE = 52,
        P_SENSOR = 56,
        P_SIDE = 120,
        P_END = 128,
};
#define SENSOR_FIELD (P_SIDE - P_SENSOR)
#define SIDE_FIELD (P_END - P_SIDE)

_Static_assert(P_END == HISTORY_PAYLOAD_V1, "the v1 payload layout and its size disagree");
_Static_assert(sizeof(float) == sizeof(uint32_t), "floats are stored as binary32");
/* A longer name in event.h would not fit the file: that needs a new payload version. */
_Static_assert(EVENT_SENSOR_MAX <= SENSOR_FIELD && EVENT_SIDE_MAX <= SIDE_FIELD, "strings outgrew the v1 payload");

static const uint8_t header_magic[8] = { 'S', 'P', 'A', 'S', 'M', 'H', 'I', 'S' };

/* --- CRC-32C, reflected polynomial 0x82F63B78, four bits a step ------------------ */

static const uint32_t crc_nibble[16] = {
        0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
        0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t history_crc32c(uint32_t crc, const void *buf, size_t len) {
        const uint8_t *p = buf;

        crc = ~crc;
        while (len-- > 0) {
                crc ^= *p++;
                crc = (crc >> 4) ^ crc_nibble[crc & 15];
                crc = (crc >> 4) ^ crc_nibble[crc & 15];
        }
        return ~crc;
}

/* --- encoding ------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static void put64(uint8_t *p, uint64_t v) {
        put32(p, (uint32_t) v);
        put32(p + 4, (uint32_t) (v >> 32));
}

static void put_float(uint8_t *p, float f) {
        uint32_t u;
        memcpy(&u, &f, sizeof(u));
        put32(p, u);
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
        return (uint64_t) get32(p) | (uint64_t) get32(p + 4) << 32;
}

static float get_float(const uint8_t *p) {
        uint32_t u = get32(p);
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
}

/* The checksum covers the length too, so a flipped length cannot pass for a shorter record. */
static uint32_t frame_crc(const uint8_t *frame, uint32_t payload_len) {
        return history_crc32c(history_crc32c(0, frame + 4, 4), frame + HISTORY_FRAME_HEAD, payload_len);
}

void history_encode_header(uint8_t b[static HISTORY_HEADER_SIZE], uint64_t id_floor) {
        memcpy(b, header_magic, sizeof(header_magic));
        put32(b + 8, HISTORY_VERSION);
        put64(b + 12, id_floor);
        put32(b + 20, history_crc32c(0, b, 20));
}

bool history_record_storable(const struct event_record *r) {
        return (unsigned) r->class <= SPASM_CLASS_WITHDRAWN && (unsigned) r->posture <= SPASM_POSTURE_STANDING &&
               strnlen(r->sensor, sizeof(r->sensor)) < sizeof(r->sensor) &&
               strnlen(r->side, sizeof(r->side)) < sizeof(r->side);
}

void history_encode_record(uint8_t frame[static HISTORY_RECORD_SIZE], const struct event_record *r) {
        uint8_t *p = frame + HISTORY_FRAME_HEAD;

        /* Zeroed first: the padding after each string must not carry stack bytes to disk. */
        memset(frame, 0, HISTORY_RECORD_SIZE);
        put32(frame, HISTORY_RECORD_MAGIC);
        put32(frame + 4, HISTORY_PAYLOAD_V1);
        put64(p + P_ID, r->id);
        put64(p + P_ONSET, r->onset_usec);
        put64(p + P_DURATION, r->duration_usec);
        put32(p + P_CLASS, (uint32_t) r->class);
        put32(p + P_POSTURE, (uint32_t) r->posture);
        put32(p + P_CHANNELS, r->channel_mask);
        put_float(p + P_PEAK, r->peak_uv);
        put_float(p + P_MEAN, r->mean_uv);
        put_float(p + P_INTENSITY, r->intensity);
        put_float(p + P_MVC, r->mvc_pct);
        put_float(p + P_PULSE, r->pulse_hz);
        memcpy(p + P_SENSOR, r->sensor, strnlen(r->sensor, sizeof(r->sensor)));
        memcpy(p + P_SIDE, r->side, strnlen(r->side, sizeof(r->side)));
        put32(frame + 8, frame_crc(frame, HISTORY_PAYLOAD_V1));
}

/* Whatever the field holds, the result ends in a NUL within dst. */
static void get_string(char *dst, size_t dstlen, const uint8_t *field, size_t fieldlen) {
        size_t n = strnlen((const char *) field, fieldlen < dstlen ? fieldlen : dstlen - 1);
        memcpy(dst, field, n);
        dst[n] = '\0';
}

static bool decode_payload(const uint8_t *p, struct event_record *r) {
        uint32_t class = get32(p + P_CLASS), posture = get32(p + P_POSTURE);

        if (class > SPASM_CLASS_WITHDRAWN || posture > SPASM_POSTURE_STANDING)
                return false;
        memset(r, 0, sizeof(*r));
        r->id = get64(p + P_ID);
        r->onset_usec = get64(p + P_ONSET);
        r->duration_usec = get64(p + P_DURATION);
        r->class = (enum spasm_class) class;
        r->posture = (enum spasm_posture) posture;
        r->channel_mask = get32(p + P_CHANNELS);
        r->peak_uv = get_float(p + P_PEAK);
        r->mean_uv = get_float(p + P_MEAN);
        r->intensity = get_float(p + P_INTENSITY);
        r->mvc_pct = get_float(p + P_MVC);
        r->pulse_hz = get_float(p + P_PULSE);
        get_string(r->sensor, sizeof(r->sensor), p + P_SENSOR, SENSOR_FIELD);
        get_string(r->side, sizeof(r->side), p + P_SIDE, SIDE_FIELD);
        return true;
}

/* --- parsing -------------------------------------------------------------------- */

/* A frame whose magic, length bound and checksum all hold, wholly inside the buffer. */
static bool frame_sound(const uint8_t *b, size_t len, size_t pos, size_t *frame_len) {
        uint32_t n;

        if (len - pos < HISTORY_FRAME_HEAD || get32(b + pos) != HISTORY_RECORD_MAGIC)
                return false;
        n = get32(b + pos + 4);
        if (n < HISTORY_PAYLOAD_V1 || n > HISTORY_PAYLOAD_MAX || len - pos - HISTORY_FRAME_HEAD < n)
                return false;
        if (get32(b + pos + 8) != frame_crc(b + pos, n))
                return false;
        *frame_len = HISTORY_FRAME_HEAD + n;
        return true;
}

/* The next sound frame at or after from, or len. Only candidates at a record magic cost a checksum. */
static size_t resync(const uint8_t *b, size_t len, size_t from) {
        uint8_t magic[4];
        size_t n;

        put32(magic, HISTORY_RECORD_MAGIC);
        for (const uint8_t *q = memmem(b + from, len - from, magic, sizeof(magic)); q;
             q = memmem(q + 1, len - (size_t) (q + 1 - b), magic, sizeof(magic)))
                if (frame_sound(b, len, (size_t) (q - b), &n))
                        return (size_t) (q - b);
        return len;
}

static int scan_records(const uint8_t *b, size_t len, size_t pos, history_record_cb cb, void *userdata,
                        struct history_scan *ret) {
        size_t n;
        int k;

        ret->valid_len = pos;
        while (pos < len) {
                struct event_record r;

                if (!frame_sound(b, len, pos, &n)) {
                        size_t next = resync(b, len, pos + 1);
                        if (next == len)
                                break; /* torn or garbage to the end */
                        ret->n_skipped++;
                        pos = next;
                        continue;
                }
                /* The checksum holds, so the frame's bounds are right even if its fields are not. */
                if (!decode_payload(b + pos + HISTORY_FRAME_HEAD, &r))
                        ret->n_skipped++;
                else {
                        ret->n_records++;
                        if (r.id > ret->max_id)
                                ret->max_id = r.id;
                        if (cb) {
                                k = cb(&r, b + pos, n, userdata);
                                if (k < 0)
                                        return k;
                        }
                }
                pos += n;
                ret->valid_len = pos;
        }
        return 0;
}

int history_scan_buffer(const void *buf, size_t len, history_record_cb cb, void *userdata,
                        struct history_scan *ret) {
        const uint8_t *b = buf;

        *ret = (struct history_scan) { 0 };
        if (len == 0)
                return 0; /* and b may be NULL */
        if (len < HISTORY_HEADER_SIZE)
                /* Only a rename() publishes a file, so this is no crash of ours; still, a file that
                 * begins like a history has nothing in it to lose. */
                return memcmp(b, header_magic, len < sizeof(header_magic) ? len : sizeof(header_magic)) == 0
                               ? 0 : -EBADMSG;
        if (memcmp(b, header_magic, sizeof(header_magic)) != 0)
                return -EBADMSG;
        ret->version = get32(b + 8);
        if (ret->version != HISTORY_VERSION)
                return -EPROTONOSUPPORT;
        ret->header_ok = get32(b + 20) == history_crc32c(0, b, 20);
        if (ret->header_ok)
                ret->id_floor = get64(b + 12);

        return scan_records(b, len, HISTORY_HEADER_SIZE, cb, userdata, ret);
}

int history_scan_records(const void *buf, size_t len, history_record_cb cb, void *userdata,
                         struct history_scan *ret) {
        *ret = (struct history_scan) { 0 };
        if (len == 0)
                return 0;
        return scan_records(buf, len, 0, cb, userdata, ret);
}
