# SPDX-License-Identifier: MIT
# A thin front: the real work is in scripts/ (meson + ninja underneath).
.PHONY: all build run test deb image clean format format-check

FORMAT_FILES = $(shell find src tests -name '*.[ch]' 2>/dev/null | sort)

all: build

build:
	@if [ ! -f build/build.ninja ]; then meson setup build; fi
	ninja -C build

run:
	scripts/run $(ARGS)

test:
	scripts/test

# build-deb/berth_<version>_<arch>.deb, built from a clean copy of the tree.
deb:
	scripts/deb build-deb

# The container image berth:latest (mmdebstrap + docker import; no registry).
image:
	scripts/image berth:latest

clean:
	rm -rf build build-asan build-fuzz

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)
