# The two commands: `make run` and `make test`. Everything else is a helper.

BUILD ?= build
MESON_ARGS ?=
XVFB := xvfb-run -a -s "-screen 0 1280x1024x24 +iglx -noreset"
# Software GL through Mesa on X11, as the ui suite expects.
UI_ENV := GDK_BACKEND=x11 LIBGL_ALWAYS_SOFTWARE=1
FUZZ_SECONDS ?= 60

.PHONY: all deps build run demo test bench sanitize fuzz clean

all: build

deps:
	@sh build-aux/ensure-deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_ARGS)
	@meson compile -C $(BUILD)

# Opens the demo dataset (made first by the demo target when it is missing).
run: demo
	@if [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run: no display (DISPLAY and WAYLAND_DISPLAY are unset); try: xvfb-run make run"; \
	  exit 1; \
	fi
	@# A bare X server (xvfb-run) has no session bus; give GtkApplication one.
	@if [ -z "$${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-run-session >/dev/null; then \
	  GSETTINGS_SCHEMA_DIR=$(BUILD)/data exec dbus-run-session -- $(BUILD)/app/cleave $(BUILD)/demo.cleave; \
	else \
	  GSETTINGS_SCHEMA_DIR=$(BUILD)/data exec $(BUILD)/app/cleave $(BUILD)/demo.cleave; \
	fi

# The demo dataset, made once; `rm -rf build/demo.cleave` to make it again.
demo: build
	@test -d $(BUILD)/demo.cleave || $(BUILD)/app/cleavectl demo $(BUILD)/demo.cleave
	@$(BUILD)/app/cleavectl info $(BUILD)/demo.cleave

# Every suite but bench; the ui suite under Xvfb. The last line counts the
# meson tests of both runs.
test: build
	@rm -f $(BUILD)/meson-logs/testlog-main.json $(BUILD)/meson-logs/testlog-ui.json
	@status=0; \
	meson test -C $(BUILD) --no-suite bench --no-suite ui --print-errorlogs --logbase testlog-main || status=1; \
	logs=$(BUILD)/meson-logs/testlog-main.json; \
	if meson introspect $(BUILD) --tests | grep -q '"cleave:ui"'; then \
	  $(UI_ENV) $(XVFB) meson test -C $(BUILD) --suite ui --print-errorlogs --logbase testlog-ui || status=1; \
	  logs="$$logs $(BUILD)/meson-logs/testlog-ui.json"; \
	fi; \
	python3 build-aux/test-summary.py $$logs || status=1; \
	exit $$status

bench: build
	@meson test -C $(BUILD) --suite bench --verbose

# The core and cli suites under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	@test -f build-asan/build.ninja || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dui=disabled
	@meson compile -C build-asan
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	  meson test -C build-asan --suite core --suite cli --print-errorlogs

# libFuzzer targets (clang), each run for FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz -Dfuzzers=true -Dui=disabled
	@meson compile -C build-fuzz
	@for f in build-fuzz/tests/fuzz/fuzz-*; do \
	  [ -f $$f ] && [ -x $$f ] || continue; \
	  name=$$(basename $$f | sed 's/^fuzz-//'); \
	  mkdir -p build-fuzz/corpus/$$name; \
	  seeds=tests/fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$name $$seeds || exit 1; \
	done

clean:
	rm -rf $(BUILD) build-asan build-fuzz
