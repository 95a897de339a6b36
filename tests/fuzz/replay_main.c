/* SPDX-License-Identifier: MIT */
/* Corpus replay without libFuzzer: feeds every file named on the command line
 * (or found in a directory named there) through LLVMFuzzerTestOneInput, so the
 * seeds and every crash once found are checked by any compiler in every test run. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;

/* Read the whole file into an allocation of exactly its size, so ASan sees any
 * read past the end of the input. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	size_t n;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		return -1;
	}

	uint8_t *exact = malloc(len > 0 ? len : 1);
	if (exact == NULL) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	replayed++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path);

/* Every entry of a directory, in name order (dotfiles skipped), recursively. */
static int replay_dir(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t count = 0, cap = 0;
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (nn == NULL) {
				ret = -1;
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		size_t plen = strlen(path) + 1 + strlen(e->d_name) + 1;
		names[count] = malloc(plen);
		if (names[count] == NULL) {
			ret = -1;
			goto out;
		}
		snprintf(names[count], plen, "%s/%s", path, e->d_name);
		count++;
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), cmp_names);
	for (size_t i = 0; i < count; i++) {
		if (replay_path(names[i]) != 0)
			ret = -1;
	}
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

static int replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path);
	return replay_file(path);
}

int main(int argc, char **argv)
{
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		/* libFuzzer-style flags (-runs=1 ...) are accepted and ignored. */
		if (argv[i][0] == '-')
			continue;
		if (replay_path(argv[i]) != 0)
			ret = 1;
	}
	printf("replayed %lu inputs\n", replayed);
	return ret;
}
