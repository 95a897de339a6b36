/* SPDX-License-Identifier: MIT */
/* `berth health`: ask a running berth's /health; for HEALTHCHECK and scripts. */
#pragma once

/* argv[0] is "health". Returns the exit status: 0 healthy, 1 not healthy or no
 * answer (the reason on stderr), 2 bad usage. */
int health_main(int argc, char **argv);
