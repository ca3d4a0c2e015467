/* Fuzz the remote nodes' route paths (gate_node_path.c): arbitrary bytes
 * as the path past "/v1/nodes/".  What is accepted names a valid node and
 * rebuilds to exactly the path given; nothing overruns the buffers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_node_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    if (!path)
        return 0;
    memcpy(path, data, size);
    path[size] = 0;
    char node[GATE_NODE_ID_MAX + 1], id[GATE_NODE_ROLLOUT_MAX + 1];
    int kind = gate_node_path_parse(path, node, id);
    if (kind == GATE_NODE_PATH_HEARTBEAT || kind == GATE_NODE_PATH_ROLLOUT) {
        char back[GATE_NODE_ID_MAX + GATE_NODE_ROLLOUT_MAX + 16];
        if (!gate_node_id_valid(node))
            abort();
        if (kind == GATE_NODE_PATH_HEARTBEAT)
            snprintf(back, sizeof back, "%s/heartbeat", node);
        else if (!id[0] || strchr(id, '/'))
            abort();
        else
            snprintf(back, sizeof back, "%s/rollouts/%s", node, id);
        if (strcmp(back, path) != 0)
            abort();
    } else if (kind != GATE_NODE_PATH_NOT_FOUND && kind != GATE_NODE_PATH_BAD_NODE) {
        abort();
    }
    free(path);
    return 0;
}
