/* SPDX-License-Identifier: MIT */
/* `berth haproxy-config`: HAProxy's configuration for berth's routing. */
#pragma once

/* argv[0] is "haproxy-config". The exit code. */
int haproxy_config_main(int argc, char **argv);
