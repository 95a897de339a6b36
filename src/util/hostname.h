/* SPDX-License-Identifier: MIT */
/* The host-name rule shared by the sources that read names people typed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* s[0..len) is dotted labels of letters, digits, '-' and '_', 1..63 bytes
 * each (no empty label, no trailing dot: callers strip what they allow). */
bool hostname_labels_ok(const char *s, size_t len);
