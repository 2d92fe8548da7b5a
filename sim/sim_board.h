/* A board on a simulator with in-memory host backends and no host paths
 * (NVDIMMs anonymous, drives/netdevs/chardevs/rngs stand-ins): what the
 * snapshot fuzzer and tests load hostile state streams into. */
#ifndef VMM_SIM_SIM_BOARD_H
#define VMM_SIM_SIM_BOARD_H

#include <stddef.h>

struct sim;
struct board;
struct machine_config;

struct sim_board {
	struct sim *s;
	struct board *b;
	void *priv;
};

/* Build the machine of argv (a vmm command line, accel=sim).  NULL with
 * err on a configuration or build error. */
struct sim_board *sim_board_new(int argc, char **argv, char *err, size_t errlen);
void sim_board_free(struct sim_board *sb);

#endif
