/* SPDX-License-Identifier: MIT */
/* Option setters of `berth serve` kept outside options.c, for its option table. */
#pragma once
#include <stddef.h>

#include "conf/optparse.h"

int set_etcd(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n);
int set_node(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n);
int set_etcd_prefix(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n);
int set_routable(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n);
int set_publish(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n);
