/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Reaching spasmd from spasmctl. The failures people actually hit are "it
 * is not running" and "I am not allowed", so those two get their own
 * message saying what to do, and their own exit code; the rest print what
 * the bus said.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "bus.h"

bool bus_parse_option(struct bus_target *t, int c, const char *arg) {
        switch (c) {
        case BUS_OPT_SYSTEM:
                *t = (struct bus_target) { .kind = BUS_SYSTEM };
                return true;
        case BUS_OPT_USER:
                *t = (struct bus_target) { .kind = BUS_USER };
                return true;
        case BUS_OPT_ADDRESS:
                *t = (struct bus_target) { .kind = BUS_ADDRESS, .address = arg };
                return true;
        default:
                return false;
        }
}

const char *bus_target_describe(const struct bus_target *t) {
        switch (t->kind) {
        case BUS_USER:
                return "the user bus";
        case BUS_ADDRESS:
                return t->address;
        case BUS_SYSTEM:
        default:
                return "the system bus";
        }
}

void bus_print_start_hint(const struct bus_target *t) {
        switch (t->kind) {
        case BUS_SYSTEM:
                fputs("spasmd starts by itself when a spasmd sensor is plugged in; to start it now:\n"
                      "    systemctl start spasmd\n"
                      "and 'journalctl -u spasmd' says why it stopped, if it did.\n", stderr);
                break;
        case BUS_USER:
                fputs("To run spasmd on your user bus:\n"
                      "    spasmd --bus=user\n", stderr);
                break;
        case BUS_ADDRESS:
                fprintf(stderr, "To run spasmd on that bus:\n"
                        "    spasmd --bus=%s\n", t->address);
                break;
        }
}

static void print_access_hint(void) {
        fputs("This needs root or membership of the spasmd group; to join it:\n"
              "    sudo usermod -aG spasmd $USER\n"
              "then log out and in again.\n", stderr);
}

static int connect_address(const char *address, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                /* A message bus, not a peer: say Hello, take a unique name, get signals. */
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int bus_connect(const struct bus_target *t, const char *verb, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        switch (t->kind) {
        case BUS_USER:
                r = sd_bus_open_user(&bus);
                break;
        case BUS_ADDRESS:
                /* sd-bus reports an address it cannot parse as "Connection refused"; catch the usual slip first. */
                if (!strchr(t->address, ':') || t->address[0] == ':') {
                        fprintf(stderr, "spasmctl %s: '%s' is not a D-Bus address; one looks like "
                                "unix:path=/run/spasmd-demo/bus\n", verb, t->address);
                        return EX_USAGE;
                }
                r = connect_address(t->address, &bus);
                break;
        case BUS_SYSTEM:
        default:
                r = sd_bus_open_system(&bus);
                break;
        }
        if (r >= 0) {
                *ret = bus;
                return EX_OK;
        }

        fprintf(stderr, "spasmctl %s: cannot connect to %s: %s\n", verb, bus_target_describe(t), strerror(-r));
        switch (r) {
        case -EINVAL:
                if (t->kind == BUS_ADDRESS) {
                        fputs("A D-Bus address looks like unix:path=/run/spasmd-demo/bus\n", stderr);
                        return EX_USAGE;
                }
                return EX_UNAVAILABLE;
        case -EACCES:
        case -EPERM:
                print_access_hint();
                return BUS_EXIT_ACCESS;
        case -ENOENT:
        case -ECONNREFUSED:
                /* No bus there, so no spasmd either. A private bus is only there while its spasmd is. */
                if (t->kind == BUS_ADDRESS)
                        bus_print_start_hint(t);
                else
                        fprintf(stderr, "spasmd talks over D-Bus: is the %s bus running?\n",
                                t->kind == BUS_USER ? "user" : "system");
                return BUS_EXIT_NOT_RUNNING;
        case -ENOMEDIUM:
        case -ENXIO:
                if (t->kind == BUS_USER)
                        fputs("There is no user bus outside a login session (no $XDG_RUNTIME_DIR or "
                              "$DBUS_SESSION_BUS_ADDRESS).\n", stderr);
                return EX_UNAVAILABLE;
        default:
                return EX_UNAVAILABLE;
        }
}

int bus_call_failed(const struct bus_target *t, const char *verb, const char *what, int r,
                    const sd_bus_error *error) {
        const char *why = sd_bus_error_is_set(error) && error->message ? error->message : strerror(-r);

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "spasmctl %s: spasmd is not running (nothing owns %s on %s)\n", verb,
                        SPASMD_BUS_NAME, bus_target_describe(t));
                bus_print_start_hint(t);
                return BUS_EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED) ||
            (!sd_bus_error_is_set(error) && (r == -EACCES || r == -EPERM))) {
                fprintf(stderr, "spasmctl %s: %s: permission denied: %s\n", verb, what, why);
                print_access_hint();
                return BUS_EXIT_ACCESS;
        }
        if (!sd_bus_error_is_set(error) && (r == -ECONNRESET || r == -ENOTCONN)) {
                fprintf(stderr, "spasmctl %s: %s: lost the connection to %s\n", verb, what,
                        bus_target_describe(t));
                return BUS_EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                   SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_PROPERTY)) {
                /* Something owns the name but does not speak our API: an older or newer spasmd. */
                fprintf(stderr, "spasmctl %s: %s: %s\n"
                        "Is spasmd the same version as spasmctl? 'spasmctl --version' says which this is.\n",
                        verb, what, why);
                return EX_UNAVAILABLE;
        }
        fprintf(stderr, "spasmctl %s: %s: %s\n", verb, what, why);
        return EX_UNAVAILABLE;
}
