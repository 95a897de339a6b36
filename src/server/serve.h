/* SPDX-License-Identifier: MIT */
/* `berth serve`: wires sources, registry, DNS workers, forwarder and HTTP together. */
#pragma once

/* Run until SIGTERM/SIGINT. Returns the process exit code. */
int serve_main(int argc, char **argv);
