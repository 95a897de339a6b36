/* SPDX-License-Identifier: MIT */
/* `berth provision`: run the containers a zone's TXT records list. */
#pragma once

/* argv[0] is "provision". Returns the exit status: 0 converged (or a clean stop), 1 not
 * converged with --once, 2 bad usage. */
int provision_main(int argc, char **argv);
