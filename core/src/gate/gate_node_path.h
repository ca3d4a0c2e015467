/* The remote nodes' route paths (gate_node_path.c; docs/gate.md "Remote nodes"). */
#ifndef CORRAL_GATE_NODE_PATH_H
#define CORRAL_GATE_NODE_PATH_H

#define GATE_NODE_ID_MAX 64
#define GATE_NODE_ROLLOUT_MAX 128

enum {
    GATE_NODE_PATH_NOT_FOUND = 0,
    GATE_NODE_PATH_BAD_NODE,
    GATE_NODE_PATH_HEARTBEAT,   /* NODE/heartbeat */
    GATE_NODE_PATH_ROLLOUT      /* NODE/rollouts/ID (id not checked: registration does) */
};

/* Whether node is a valid node id (1-64 of [A-Za-z0-9._-]). */
int gate_node_id_valid(const char *node);
/* Split path (past "/v1/nodes/") into node and rollout id (caller's
 * buffers; id "" unless a rollout route).  Returns a GATE_NODE_PATH_*. */
int gate_node_path_parse(const char *path, char node[GATE_NODE_ID_MAX + 1], char id[GATE_NODE_ROLLOUT_MAX + 1]);

#endif
