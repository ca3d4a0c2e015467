/* sandbox_local: the plugin descriptor, config schema and ops table.
 *
 * What is enforced how (see also README.md in this directory):
 *  - isolation: bubblewrap with user, mount, pid, ipc, uts and net
 *    namespaces (network "full": pasta gives outbound access, net.c; the
 *    host's namespace only with the operator's host_network); host /usr /bin /lib* /sbin /etc read-only,
 *    /etc/shadow masked; /proc, a minimal /dev, a tmpfs /tmp; every
 *    command runs with no capabilities and no_new_privs, in a session of
 *    its own (no terminal) with a fresh session keyring and the keyring
 *    syscalls refused by a seccomp filter.
 *  - memory_bytes / pids_max -> the sandbox's memory / pids cgroup when the
 *    cgroup fs is writable, else RLIMIT_AS / RLIMIT_NPROC; file_size_bytes
 *    -> RLIMIT_FSIZE; applied in each command before exec.  cpus: not
 *    enforced (so no CORRAL_CAP_LIMITS).
 *  - TTL: the holder is `sleep <ttl>`; when it exits the namespaces die.
 */
#include <stdlib.h>
#include <string.h>

#include "local.h"

#define AT(field) offsetof(struct local_plugin, field)
static const struct corral_option local_options[] = {
    {"bwrap", CORRAL_OPT_STRING, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "\"bwrap\"",
     "bubblewrap executable: a name looked up on PATH or an absolute path (Debian package `bubblewrap`)", AT(bwrap),
     1, 0},
    {"state_dir", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL,
     "where per-sandbox state and workspaces live; default $XDG_STATE_HOME/corral/local, "
     "/var/lib/corral/local for root", AT(state_dir), 0, 0},
    {"default_ttl_s", CORRAL_OPT_INT, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "86400",
     "TTL in seconds for sandboxes whose spec gives none; 0 = no TTL (live until destroyed)", AT(default_ttl_s), 0,
     0},
    {"freezer", CORRAL_OPT_BOOL, CORRAL_OPT_BIND, "false",
     "pause with a freezer cgroup (invisible to the sandbox) even when no limit needs cgroups; costs each "
     "command a cgroup migration (several ms); otherwise pause uses SIGSTOP/SIGCONT", AT(freezer), 0, 0},
    {"storage_mb", CORRAL_OPT_INT, CORRAL_OPT_BIND | CORRAL_OPT_MIN | CORRAL_OPT_MAX, "0",
     "storage limit in MiB for sandboxes whose spec gives none (resources.storage_mb): the workspace and /tmp "
     "live on one tmpfs of that size (needs root; counts as memory); 0 = none, the workspace is a host "
     "directory", AT(storage_mb), 0, 16777216},
    {"pasta", CORRAL_OPT_STRING, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "\"pasta\"",
     "pasta executable for network \"full\" (a namespace of its own with outbound access only; Debian package "
     "`passt`): a name looked up on PATH or an absolute path", AT(pasta), 1, 0},
    {"host_network", CORRAL_OPT_BOOL, CORRAL_OPT_BIND, "false",
     "network \"full\" shares the host's network namespace (its loopback services, abstract unix sockets and "
     "the gate's listeners) instead of using pasta; for operators only: a task cannot set it", AT(host_network),
     0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

/* Options are bound and range-checked by the host; what is left is the
 * state directory's default and shape. */
static int local_init(const struct corral_host *h, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg;
    struct local_plugin *lp = state;
    lp->host = h;
    pthread_mutex_init(&lp->lock, NULL);
    if (lp->state_dir && *lp->state_dir) {
        lp->state_root = lp->state_dir;
    } else {
        if (!(lp->default_root = local_default_state_root()))
            return h->fail(call, CORRAL_ENOMEM, "out of memory");
        lp->state_root = lp->default_root;
    }
    if (lp->state_root[0] != '/')
        return h->fail(call, CORRAL_ECONFIG, "local: state_dir must be an absolute path");
    return 0;
}

/* Reaps what is left and releases what local_init made; the host frees
 * the block itself. */
static void local_fini(void *state)
{
    struct local_plugin *lp = state;
    local_orphans_reap(lp);
    local_private_cache_free();
    pthread_mutex_destroy(&lp->lock);
    free(lp->orphans);
    free(lp->default_root);
}

static const struct corral_sandbox_ops local_ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PAUSE | CORRAL_CAP_HOST_MOUNTS | CORRAL_CAP_PERSISTENT | CORRAL_CAP_TTL |
            CORRAL_CAP_STORAGE | CORRAL_CAP_ROOTFS | CORRAL_CAP_HOST_BOUND,
    .create = local_create,
    .attach = local_attach,
    .state = local_state,
    .exec = local_exec,
    .spawn = local_spawn,
    .job_wait = local_job_wait,
    .job_kill = local_job_kill,
    .job_free = local_job_free,
    .read_file = local_read_file,
    .write_file = local_write_file,
    .put_archive = local_put_archive,
    .get_archive = local_get_archive,
    .pause = local_pause,
    .resume = local_resume,
    .running = local_running,
    .list = local_list,
    .destroy = local_destroy,
    .remove = local_remove,
    .quiesce = local_quiesce,
    .close = local_close,
};

static const struct corral_plugin local_plugin_desc = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "local",
    .version = "0.1.0",
    .description = "local sandboxes with bubblewrap (user/mount/pid/net/ipc/uts namespaces)",
    .options = local_options,
    .option_size = sizeof(struct corral_option),
    .ops = &local_ops,
    .init2 = local_init,
    .fini = local_fini,
    .state_size = sizeof(struct local_plugin),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    const struct corral_host *h = corral_offer_host(offer, 1);
    if (!h || !CORRAL_HAS(h, fail) || !CORRAL_HAS(h, remaining_ms) || !CORRAL_HAS(h, archive_extract_at) ||
        !CORRAL_HAS(h, archive_tree_at))
        return NULL;
    return &local_plugin_desc;
}
