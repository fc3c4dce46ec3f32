/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "detector.h"

const char *spasm_class_to_string(enum spasm_class c) {
        switch (c) {
        case SPASM_CLASS_PENDING:
                return "pending";
        case SPASM_CLASS_SPASM:
                return "spasm";
        case SPASM_CLASS_TWITCH:
                return "twitch";
        case SPASM_CLASS_VOLUNTARY:
                return "voluntary";
        case SPASM_CLASS_WITHDRAWN:
                return "withdrawn";
        }
        return "unknown";
}

const char *spasm_posture_to_string(enum spasm_posture p) {
        switch (p) {
        case SPASM_POSTURE_LYING:
                return "lying";
        case SPASM_POSTURE_SITTING:
                return "sitting";
        case SPASM_POSTURE_STANDING:
                return "standing";
        case SPASM_POSTURE_UNKNOWN:
                break;
        }
        return "unknown";
}

const char *spasm_contact_to_string(enum spasm_contact c) {
        switch (c) {
        case SPASM_CONTACT_GOOD:
                return "good";
        case SPASM_CONTACT_POOR:
                return "poor";
        case SPASM_CONTACT_OFF:
                return "off";
        }
        return "unknown";
}
