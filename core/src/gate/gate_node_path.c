/* The paths of the remote nodes' trainer routes (docs/gate.md "Remote
 * nodes"): pure string work, fuzzed by tests/fuzz/fuzz_gate_node_path.c. */
#include <stdio.h>
#include <string.h>

#include "gate/gate_node_path.h"

int gate_node_id_valid(const char *node)
{
    size_t n = node ? strlen(node) : 0;
    if (n == 0 || n > GATE_NODE_ID_MAX)
        return 0;
    for (const char *p = node; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int gate_node_path_parse(const char *path, char node[GATE_NODE_ID_MAX + 1], char id[GATE_NODE_ROLLOUT_MAX + 1])
{
    const char *slash = strchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0 || n > GATE_NODE_ID_MAX)
        return GATE_NODE_PATH_NOT_FOUND;
    memcpy(node, path, n);
    node[n] = 0;
    id[0] = 0;
    if (!gate_node_id_valid(node))
        return GATE_NODE_PATH_BAD_NODE;
    if (strcmp(slash, "/heartbeat") == 0)
        return GATE_NODE_PATH_HEARTBEAT;
    static const char ro[] = "/rollouts/";
    const char *r = slash + sizeof ro - 1;
    if (strncmp(slash, ro, sizeof ro - 1) != 0 || !*r || strlen(r) > GATE_NODE_ROLLOUT_MAX || strchr(r, '/'))
        return GATE_NODE_PATH_NOT_FOUND;
    snprintf(id, GATE_NODE_ROLLOUT_MAX + 1, "%s", r);
    return GATE_NODE_PATH_ROLLOUT;
}
