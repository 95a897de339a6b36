/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, with padding), as etcd's JSON gateway carries keys and values: nettle's
 * codec, with the lengths worked out. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Room b64_encode needs for len bytes, with the NUL. */
size_t b64_encoded_size(size_t len);
/* Encode in[0..len) into out (at least b64_encoded_size(len) bytes), NUL-terminated. Returns
 * the length written without the NUL. */
size_t b64_encode(const uint8_t *in, size_t len, char *out);
/* The same into a new string (free it); NULL if out of memory. */
char *b64_encode_new(const void *in, size_t len);
/* Decode text[0..len) into a new buffer (NUL-terminated for convenience; free it) with its
 * length in *outlen. 0, -EINVAL (not base64) or -ENOMEM. */
int b64_decode_new(const char *text, size_t len, uint8_t **out, size_t *outlen);
