# spasmd — top-level build.
#
#   make            build the daemon's detector library and spasmctl
#   make check      unit tests, plain and under ASan+UBSan, and the detector's quality floors
#   make demo       replay the bundled recording into spasmd on a private bus, events live in spasmctl monitor
#   make bench      detector throughput against NumPy/SciPy; live latency, RSS, CPU, idle wakeups
#   make install    DESTDIR= and PREFIX= are honoured
#   make deb        the Debian package, in build/deb/
#   make check-deb  lintian, the package's files against make install, install, run and purge
#   make deps       install the Debian packages the rest needs

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
# Fixed: the daemon's default, /etc/spasmd/spasmd.conf, is part of its interface (spasmd -c FILE for another).
SYSCONFDIR := /etc
# Where systemd, udev and dbus-daemon look, whatever PREFIX is: they read nothing under /usr/local.
UNITDIR ?= /usr/lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
CATALOGDIR ?= /usr/lib/systemd/catalog
UDEVDIR ?= /usr/lib/udev
DBUS_POLICYDIR ?= /usr/share/dbus-1/system.d
DESTDIR ?=

VERSION := 0.1.0
BUILD ?= build
SANITIZE ?= 0
# Debian's interpreter: tools/deps.sh installs numpy and scipy for it.
PYTHON ?= /usr/bin/python3

CC ?= cc
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT := -O2 -g
CPPFLAGS_ALL := -D_GNU_SOURCE -DSPASMD_VERSION=\"$(VERSION)\" -Idaemon -Idaemon/detect -Idaemon/sensor
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),1)
# ASan wants no _FORTIFY_SOURCE; both report through the same runtime and fail hard.
HARDEN := -fstack-protector-strong -fPIE
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_ALL += -fsanitize=address,undefined
endif
# The detector's per-channel loops have a fixed lane count; let GCC vectorise them.
DETECT_OPT := -ftree-vectorize -fno-math-errno

CFLAGS_ALL = $(WARN) $(HARDEN) $(OPT) $(CFLAGS)
PKGS_CLI :=
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

DETECT_SRC := $(sort $(wildcard daemon/detect/*.c))
COMMON_SRC := daemon/recording.c daemon/json.c daemon/event-json.c
# The daemon's modules, all but main.c, so the tests link the very same code.
SENSOR_SRC := $(filter-out daemon/main.c $(COMMON_SRC),$(sort $(wildcard daemon/*.c))) \
	$(sort $(wildcard daemon/sensor/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))

DETECT_OBJ := $(DETECT_SRC:%.c=$(BUILD)/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
SENSOR_OBJ := $(SENSOR_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIBDETECT := $(BUILD)/libspasmdetect.a
LIBCOMMON := $(BUILD)/libspasmcommon.a
LIBSENSOR := $(BUILD)/libspasmsensor.a
# The sensor layer and the daemon talk to libiio, libsystemd and inih.
SYS_CFLAGS = $(shell pkg-config --cflags libiio libsystemd inih 2>/dev/null)
SYS_LIBS = $(shell pkg-config --libs libiio libsystemd inih 2>/dev/null) -pthread
SPASMCTL := $(BUILD)/spasmctl
SPASMD := $(BUILD)/spasmd

.PHONY: all check man-lint rig-check integration integration-asan unit-plain unit-asan sim-check demo bench install clean deps need-deps
.DELETE_ON_ERROR:

all: $(SPASMCTL) $(SPASMD)

$(SPASMD): $(BUILD)/daemon/main.o $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT) $(SYS_LIBS) -lm

$(BUILD)/daemon/detect/%.o: daemon/detect/%.c $(wildcard daemon/detect/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS_ALL) $(DETECT_OPT) -MMD -MP -c -o $@ $<

$(BUILD)/daemon/sensor/%.o: daemon/sensor/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(SYS_CFLAGS) -pthread $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/daemon/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Idaemon/sensor $(SYS_CFLAGS) -pthread $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIBDETECT): $(DETECT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBSENSOR): $(SENSOR_OBJ) $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(SENSOR_OBJ)

$(SPASMCTL): $(CLI_OBJ) $(LIBCOMMON) $(LIBDETECT)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBCOMMON) $(LIBDETECT) $(SYS_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(SYS_CFLAGS) $(CPPFLAGS) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LDFLAGS) -MMD -MP -o $@ $< \
		$(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT) $(CMOCKA_LIBS) $(SYS_LIBS) -lm

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

# --- dependencies -----------------------------------------------------------
deps:
	./tools/deps.sh base deb

# Runs deps only when something a target needs is missing, so a fresh machine needs no extra step.
need-deps:
	@pkg-config --exists libiio libsystemd inih cmocka \
		&& for t in mandoc iio_info iiod udevadm gdbus dbus-daemon; do command -v $$t >/dev/null || PATH=$$PATH:/usr/sbin command -v $$t >/dev/null || exit 1; done \
		&& $(PYTHON) -c 'import numpy, scipy, dbus, gi' 2>/dev/null \
		|| ./tools/deps.sh

# --- tests ------------------------------------------------------------------
unit-plain: $(UNIT_BIN) $(SPASMCTL) $(SPASMD)
	@tests/run-unit.sh $(BUILD) $(UNIT_BIN)

unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 unit-plain

sim-check: $(SPASMCTL)
	@$(PYTHON) tests/sim/test_sim.py
	@$(PYTHON) tests/sim/check_quality.py --spasmctl $(SPASMCTL)

man-lint:
	@mandoc -Tlint -Wwarning man/*.[0-9] && echo "man: mandoc -Tlint clean"

# cppcheck and clang-tidy (.clang-tidy) on daemon/ and cli/ with the project's flags; a finding
# not accepted, with a reason, in tests/lint/baseline.txt fails. `tests/lint/lint.sh BUILD --update`
# lists the new ones in the baseline's format.
.PHONY: lint
lint:
	@command -v cppcheck > /dev/null && command -v clang-tidy > /dev/null || ./tools/deps.sh
	@tests/lint/lint.sh $(BUILD) -- $(CPPFLAGS_ALL) $(SYS_CFLAGS) -pthread

rig-check:
	@$(PYTHON) tests/rig/test_emulator.py
	@$(PYTHON) tests/rig/local_test.py

$(BUILD)/iio-read: tests/integration/iio-read.c $(LIBSENSOR) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(SYS_CFLAGS) $(CPPFLAGS) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LDFLAGS) -MMD -MP -o $@ $< \
		$(LIBSENSOR) $(LIBCOMMON) $(SYS_LIBS) -lm

# LD_PRELOAD shims for tests/integration/test-faults.sh: EIO from the history's storage on demand, a
# wall clock that jumps. Never sanitized: they go into plain and ASan daemons alike.
FAULT_SHIMS = $(BUILD)/fault/eio.so $(BUILD)/fault/clock.so

$(BUILD)/fault/%.so: tests/fault/%.c
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared $(LDFLAGS) -o $@ $<

integration: $(FAULT_SHIMS)

INTEGRATION_TESTS ?= $(sort $(wildcard tests/integration/test-*.sh))
# make check's second pass, under ASan+UBSan: the tests that drive spasmd's and spasmctl's own code
# through many paths. Left to the plain pass: the D-Bus policy (dbus-daemon's decisions), the unit,
# udev, install and the README example (files and other programs), the local: backend and
# test-daemon-iio / test-iio-read (the reader's demux is replayed under ASan by fuzz-replay, and its
# stalls, resets and reconnects are in the faults test), and test-files (strace and ASan do not mix).
ASAN_INTEGRATION_TESTS := $(addprefix tests/integration/test-,$(addsuffix .sh,\
	bounds cli dbus faults history journal plot replay))

integration: $(SPASMCTL) $(SPASMD) $(BUILD)/iio-read
	@for t in $(INTEGRATION_TESTS); do $$t $(BUILD) || exit 1; done

CHECK_STAGES := man-lint lint unit-plain unit-asan fuzz-replay rig-check integration integration-asan sim-check
# Builds in a stage run in parallel; the tests themselves one after another (several wait on real time
# or measure latency, and would disturb each other).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Each stage's time is printed, so that a slow one shows in CI's log.
check: need-deps
	@start=$$(date +%s); for stage in $(CHECK_STAGES); do t=$$(date +%s); \
		$(MAKE) --no-print-directory -j$(JOBS) $$stage || exit 1; \
		echo "check: $$stage passed in $$(( $$(date +%s) - t )) s"; done; \
		echo "check: every stage passed in $$(( $$(date +%s) - start )) s"

integration-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 INTEGRATION_TESTS="$(ASAN_INTEGRATION_TESTS)" integration

# --- fuzzing ----------------------------------------------------------------
# make fuzz         every target in tests/fuzz/ under libFuzzer (clang, ASan+UBSan) for
#                   FUZZ_SECONDS each, FUZZ_JOBS at a time; FUZZ_TARGETS= picks some.
#                   New inputs go to build/fuzz/corpus/, crashes to build/fuzz/crashes/.
# make fuzz-replay  the committed corpora and crash reproducers, once each, through the
#                   same targets built by $(CC) with ASan+UBSan: part of check, no clang needed
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz-%.c,%,$(sort $(wildcard tests/fuzz/fuzz-*.c)))
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_CC ?= clang-14
FUZZ_DEPS = tests/fuzz/fuzz-util.h $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT)

.PHONY: fuzz fuzz-replay

$(BUILD)/fuzz-replay/%: tests/fuzz/fuzz-%.c tests/fuzz/replay-main.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/fuzz $(SYS_CFLAGS) $(CPPFLAGS) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LDFLAGS) -o $@ \
		$< tests/fuzz/replay-main.c $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT) $(SYS_LIBS) -lm

$(BUILD)/fuzzer/%: tests/fuzz/fuzz-%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/fuzz $(SYS_CFLAGS) $(CPPFLAGS) $(CFLAGS_ALL) -fsanitize=fuzzer $(LDFLAGS_ALL) \
		$(LDFLAGS) -o $@ $< $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT) $(SYS_LIBS) -lm

fuzz-replay:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 $(FUZZ_TARGETS:%=build/asan/fuzz-replay/%)
	@tests/fuzz/replay.sh build/asan/fuzz-replay $(FUZZ_TARGETS)

# The daemon's objects get libFuzzer's coverage hooks too (fuzzer-no-link), in their own BUILD;
# the detector's without comparison tracing, which costs its per-sample loops half their time
# and finds nothing there: no input is compared with a constant.
fuzz:
	@./tools/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=$(FUZZ_CC) SANITIZE=1 CFLAGS=-fsanitize=fuzzer-no-link \
		DETECT_OPT="$(DETECT_OPT) -fno-sanitize-coverage=trace-cmp" $(FUZZ_TARGETS:%=build/fuzz/fuzzer/%)
	@tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# --- demo and bench ---------------------------------------------------------
DEMO_RECORDING := tests/data/demo-lumbar.csv

# Real time on a private bus, with spasmctl monitor showing the events live.
demo: need-deps $(SPASMCTL) $(SPASMD)
	@tools/demo.sh $(BUILD) $(DEMO_RECORDING)

bench: need-deps
	@$(MAKE) --no-print-directory $(BUILD)/bench-detector $(BUILD)/bench-history $(SPASMD)
	@$(PYTHON) tests/bench/bench.py --bench $(BUILD)/bench-detector
	@d=$$(mktemp -d) && $(BUILD)/bench-history $$d; r=$$?; rm -rf $$d; exit $$r
	@$(PYTHON) tests/bench/bench_live.py --spasmd $(SPASMD) --seconds 40
	@$(PYTHON) tests/bench/bench_e2e.py --spasmd $(SPASMD)

# Not in make check: a simulated day (the soak_hour scene played 24 times over) through the
# iiod emulator and spasmd at 40x real time, about 40 minutes; RSS, fds, history, dropped samples
# and events against spasmctl analyze. SOAK_ARGS="--hours 2" for a short one; see tests/soak/soak.py.
.PHONY: soak
soak: need-deps $(SPASMCTL) $(SPASMD)
	@mkdir -p $(BUILD)/soak
	@$(PYTHON) tests/soak/soak.py --spasmd $(SPASMD) --spasmctl $(SPASMCTL) --workdir $(BUILD)/soak \
		--report $(BUILD)/soak/report.md $(SOAK_ARGS)

$(BUILD)/bench-history: tests/bench/bench-history.c $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBSENSOR) $(LIBCOMMON) $(LIBDETECT) $(SYS_LIBS) -lm

$(BUILD)/bench-detector: tests/bench/bench-detector.c $(LIBDETECT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBDETECT) -lm

# --- install ----------------------------------------------------------------
install: all
	install -Dm755 $(SPASMCTL) $(DESTDIR)$(BINDIR)/spasmctl
	install -Dm755 $(SPASMD) $(DESTDIR)$(SBINDIR)/spasmd
	install -Dm644 man/spasmctl.1 $(DESTDIR)$(MANDIR)/man1/spasmctl.1
	install -Dm644 man/spasmd-recording.5 $(DESTDIR)$(MANDIR)/man5/spasmd-recording.5
	install -Dm644 man/spasmd.conf.5 $(DESTDIR)$(MANDIR)/man5/spasmd.conf.5
	install -Dm644 man/spasmd-dbus.5 $(DESTDIR)$(MANDIR)/man5/spasmd-dbus.5
	install -Dm644 man/spasmd.8 $(DESTDIR)$(MANDIR)/man8/spasmd.8
	install -Dm644 conf/spasmd.conf $(DESTDIR)$(SYSCONFDIR)/spasmd/spasmd.conf
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|^ExecStart=/usr/sbin/spasmd|ExecStart=$(SBINDIR)/spasmd|' systemd/spasmd.service \
		> $(DESTDIR)$(UNITDIR)/spasmd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/spasmd.service
	install -Dm644 systemd/spasmd.sysusers $(DESTDIR)$(SYSUSERSDIR)/spasmd.conf
	install -Dm644 udev/60-spasmd.rules $(DESTDIR)$(UDEVDIR)/rules.d/60-spasmd.rules
	install -Dm755 udev/spasmd-iio-access $(DESTDIR)$(UDEVDIR)/spasmd-iio-access
	install -Dm644 conf/spasmd.catalog $(DESTDIR)$(CATALOGDIR)/spasmd.catalog
	install -Dm644 conf/org.spasmd.Monitor1.conf $(DESTDIR)$(DBUS_POLICYDIR)/org.spasmd.Monitor1.conf
	install -Dm644 conf/org.spasmd.Monitor1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.spasmd.Monitor1.xml
	install -Dm644 completion/spasmctl.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/spasmctl

# --- Debian package ---------------------------------------------------------
# make deb        build/deb/spasmd_*.deb (dpkg-buildpackage -us -uc -b; tests run
#                 unless DEB_BUILD_OPTIONS=nocheck)
# make check-deb  lintian, the file set against `make install`, then install,
#                 run and purge it (tests/deb/check-deb.sh)
DEB_DIR := build/deb
# What the package is built from: when one is newer than the .deb, check-deb rebuilds.
DEB_INPUTS = Makefile tools/deps.sh $(filter-out debian/build,$(wildcard debian/* debian/source/*)) \
	$(wildcard daemon/*.[ch] daemon/*/*.[ch] cli/*.[ch] conf/* man/* systemd/* systemd/*/* udev/* completion/*) \
	$(wildcard tests/unit/* tests/run-unit.sh)

.PHONY: deb check-deb need-deb-deps

# Only the packaging tools: plain `make check` does not wait for them.
need-deb-deps:
	@pkg-config --exists libiio libsystemd inih cmocka \
		&& for t in dh dpkg-buildpackage lintian; do command -v $$t >/dev/null || exit 1; done \
		&& [ -r /usr/share/bash-completion/bash_completion ] \
		|| ./tools/deps.sh base deb

# dpkg-buildpackage runs in a copy of the tree (outside build/, which holds no
# drop-in directories), so it neither reuses nor cleans build/; it writes next
# to that copy, and the results move to $(DEB_DIR).
deb: need-deb-deps
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR) && tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT \
		&& mkdir "$$tmp/spasmd" && tar -c --exclude-vcs --exclude=./build --exclude=./debian/build \
			--exclude=__pycache__ --exclude=./tests/sim/out -f - . | tar -x -C "$$tmp/spasmd" \
		&& echo "dpkg-buildpackage -us -uc -b -Jauto (in a copy of the tree: $$tmp/spasmd)" \
		&& (cd "$$tmp/spasmd" && dpkg-buildpackage -us -uc -b -Jauto) \
		&& mv "$$tmp"/*.deb "$$tmp"/*.changes "$$tmp"/*.buildinfo $(DEB_DIR)/ \
		&& { mv "$$tmp"/*.ddeb $(DEB_DIR)/ 2>/dev/null || :; } \
		&& touch $(DEB_DIR)/.built && ls -l $(DEB_DIR)

$(DEB_DIR)/.built: $(DEB_INPUTS)
	@$(MAKE) --no-print-directory deb

check-deb: need-deb-deps $(DEB_DIR)/.built
	@tests/deb/check-deb.sh $(DEB_DIR)

clean:
	rm -rf build

# Developer tool: per-tick internals of the detector on a recording.
$(BUILD)/trace: tools/trace.c $(LIBCOMMON) $(LIBDETECT)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBCOMMON) $(LIBDETECT) -lm
