/* SPDX-License-Identifier: MIT */
/* Base64 through nettle. */
#include "util/b64.h"

#include <errno.h>
#include <stdlib.h>

#include <nettle/base64.h>

size_t b64_encoded_size(size_t len)
{
	return BASE64_ENCODE_RAW_LENGTH(len) + 1;
}

size_t b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t n = BASE64_ENCODE_RAW_LENGTH(len);
	base64_encode_raw(out, len, in);
	out[n] = '\0';
	return n;
}

char *b64_encode_new(const void *in, size_t len)
{
	char *out = malloc(b64_encoded_size(len));
	if (out != NULL)
		b64_encode(in, len, out);
	return out;
}

int b64_decode_new(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
	struct base64_decode_ctx ctx;
	size_t cap = BASE64_DECODE_LENGTH(len) + 1;
	size_t n = cap;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, len, text) || !base64_decode_final(&ctx)) {
		free(buf);
		return -EINVAL;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}
