/* SPDX-License-Identifier: MIT */
/* libFuzzer target for dnsdock's /services bodies: parse, then build records. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "sources/manual.h"
#include "store/recset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		return 0;
	char err[256];
	json_t *svc = NULL;
	int pr = manual_service_parse(body, NULL, &svc, err, sizeof(err));
	if ((pr == 0) != (svc != NULL) || (pr < 0 && pr != -12 && pr != -22))
		abort();
	if (svc != NULL) {
		struct manual_naming nm = { .domain = "docker", .environment = "" };
		struct recset *rs = recset_new();
		if (rs == NULL)
			abort();
		int ret = manual_service_records(svc, &nm, 10, rs);
		if (ret < 0 && ret != -12 /* ENOMEM */ && ret != -22 /* EINVAL */)
			abort();
		recset_free(rs);
		json_decref(svc);
	}
	json_decref(body);
	return 0;
}
