/* SPDX-License-Identifier: MIT */
/* libFuzzer target for berth provision's shell-style splitting of TXT command lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/plan.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct strv words = { 0 };
	int ret = provision_split(s, &words);
	if (ret == 0) {
		/* words are never longer than the input, and the list ends in NULL */
		for (size_t i = 0; i < words.n; i++)
			if (words.v[i] == NULL || strlen(words.v[i]) > size)
				abort();
		if (words.n > 0 && words.v[words.n] != NULL)
			abort();
	}
	strv_clear(&words);
	free(s);
	return 0;
}
