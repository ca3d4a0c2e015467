/* Policy for what a sandbox may get from the daemon: the create-option
 * allowlist, bind-mount checks and list() label filters.  Pure apart from
 * realpath(); unit-tested in tests/docker/test_docker_pure.c.
 *
 * Options (config `create_options` and spec->options_json) use these
 * snake_case keys and nothing else:
 *   shm_size (int bytes)            -> HostConfig.ShmSize
 *   tmpfs ({"/path": "opts"})       -> HostConfig.Tmpfs
 *   ulimits ([{name,soft,hard}])    -> HostConfig.Ulimits (nofile nproc core stack fsize cpu)
 *   cap_add ([cap])                 -> HostConfig.CapAdd, from a fixed small set
 *   dns ([ip]), extra_hosts (["name:ip|host-gateway"])
 *   runtime ("runc", "runsc", ...)  -> HostConfig.Runtime (admin-configured runtimes)
 *   mounts ([{source,target,read_only}]) binds under config `allowed_mounts`
 *   hostname (string), cpuset_cpus (string)
 * Everything else is refused, and the known dangerous ones (privileged,
 * host namespaces, devices, security_opt, ...) with a reason. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dk.h"

static const char *const caps_ok[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETUID", "CAP_SETGID",
    "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP", "CAP_AUDIT_WRITE", NULL};

int dk_cap_allowed(const char *cap, const char **canon)
{
    if (!cap)
        return 0;
    const char *c = strncasecmp(cap, "CAP_", 4) == 0 ? cap + 4 : cap;
    for (size_t i = 0; caps_ok[i]; i++)
        if (strcasecmp(caps_ok[i] + 4, c) == 0) {
            if (canon)
                *canon = caps_ok[i];
            return 1;
        }
    return 0;
}

static const struct { const char *key, *why; } refused[] = {
    {"privileged", "a privileged container is root on the host"},
    {"network_mode", "the network comes from spec.network"},
    {"network", "the network comes from spec.network"},
    {"pid_mode", "host/shared pid namespaces are never allowed"},
    {"ipc_mode", "host/shared ipc namespaces are never allowed"},
    {"uts_mode", "host uts namespace is never allowed"},
    {"userns_mode", "userns_mode=host disables user-namespace remapping"},
    {"cgroupns_mode", "host cgroup namespace is never allowed"},
    {"devices", "host devices are never passed in"},
    {"device_requests", "host devices are never passed in"},
    {"device_cgroup_rules", "host devices are never passed in"},
    {"security_opt", "seccomp/apparmor/no-new-privileges are fixed by the plugin"},
    {"cap_drop", "all capabilities are always dropped"},
    {"cgroup_parent", "the cgroup is fixed by the daemon"},
    {"volumes_from", "other containers' volumes are never shared"},
    {"volumes", "use mounts (checked against allowed_mounts)"},
    {"binds", "use mounts (checked against allowed_mounts)"},
    {"sysctls", "kernel parameters are never set"},
    {"oom_kill_disable", "the memory limit must stay enforceable"},
    {"group_add", "supplementary groups are never added"},
    {"pids_limit", "the limit comes from spec.pids_max"},
    {"memory", "the limit comes from spec.memory_bytes"},
    {"read_only_rootfs", "the plugin's helper and job status live in /.corral on the root filesystem"},
    {"nano_cpus", "the limit comes from spec.cpus"},
};

static const char *const known[] = {"shm_size", "tmpfs", "ulimits", "cap_add", "dns", "extra_hosts",
                                    "runtime", "mounts", "hostname", "cpuset_cpus", NULL};

static const char *const ulimit_ok[] = {"nofile", "nproc", "core", "stack", "fsize", "cpu", NULL};

#define FAIL(...) do { snprintf(err, errcap, __VA_ARGS__); rc = CORRAL_EPERM; goto out; } while (0)

static int in_list(const char *s, const char *const *l)
{
    for (size_t i = 0; l[i]; i++)
        if (strcmp(s, l[i]) == 0)
            return 1;
    return 0;
}

/* Append a copy of every string of array `src` to `dst` (created as
 * key in obj if missing); 0 or -1 if src holds a non-string. */
static int add_strings(cJSON *obj, const char *key, const cJSON *src)
{
    cJSON *dst = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!dst)
        dst = cJSON_AddArrayToObject(obj, key);
    const cJSON *it;
    cJSON_ArrayForEach(it, src) {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strpbrk(it->valuestring, "\n\r"))
            return -1;
        cJSON_AddItemToArray(dst, cJSON_CreateString(it->valuestring));
    }
    return 0;
}

static int under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    if (n == 1 && prefix[0] == '/')
        return 1;
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* 1 if a component of path is "..". */
static int has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

int dk_mount_check(const char *host_path, const char *sandbox_path, const char *const *allowed,
                   char *err, size_t errcap)
{
    static const char *const deny_exact[] = {"/", "/proc", "/sys", "/dev", "/boot", "/etc", "/run",
                                             "/var/run", "/var", "/usr", "/bin", "/sbin", "/lib",
                                             "/root", "/home", NULL};
    static const char *const deny_tree[] = {"/proc", "/sys", "/dev", "/boot", "/etc", "/var/lib/docker",
                                            "/var/lib/containerd", "/run/containerd", "/run/docker",
                                            "/var/run/docker", NULL};
    char real[PATH_MAX];
    if (!host_path || host_path[0] != '/') {
        snprintf(err, errcap, "mount source '%s' is not an absolute path", host_path ? host_path : "");
        return CORRAL_EPERM;
    }
    if (!sandbox_path || sandbox_path[0] != '/' || strcmp(sandbox_path, "/") == 0 ||
        has_dotdot(sandbox_path) || under(sandbox_path, DK_SHIM_DIR)) {
        snprintf(err, errcap, "mount target '%s' must be an absolute path other than / and %s",
                 sandbox_path ? sandbox_path : "", DK_SHIM_DIR);
        return CORRAL_EPERM;
    }
    if (!realpath(host_path, real)) {
        snprintf(err, errcap, "mount source '%s' does not exist", host_path);
        return CORRAL_EPERM;
    }
    for (size_t i = 0; deny_exact[i]; i++)
        if (strcmp(real, deny_exact[i]) == 0) {
            snprintf(err, errcap, "mount source '%s' (%s) is a system directory", host_path, real);
            return CORRAL_EPERM;
        }
    for (size_t i = 0; deny_tree[i]; i++)
        if (under(real, deny_tree[i])) {
            snprintf(err, errcap, "mount source '%s' (%s) is under %s", host_path, real, deny_tree[i]);
            return CORRAL_EPERM;
        }
    const char *base = strrchr(real, '/');
    if (base && (strstr(base, "docker.sock") || strstr(base, "containerd.sock"))) {
        snprintf(err, errcap, "mount source '%s' is a container engine socket", host_path);
        return CORRAL_EPERM;
    }
    if (allowed) {
        for (size_t i = 0; allowed[i]; i++) {
            char ra[PATH_MAX];
            if (realpath(allowed[i], ra) && under(real, ra))
                return 0;
        }
        snprintf(err, errcap, "mount source '%s' is not under any of the config's allowed_mounts",
                 host_path);
        return CORRAL_EPERM;
    }
    return 0;
}

static int add_mount(cJSON *hc, const cJSON *m, const char *const *allowed, char *err, size_t errcap)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
    const cJSON *dst = cJSON_GetObjectItemCaseSensitive(m, "target");
    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(m, "read_only");
    const cJSON *it;
    if (!cJSON_IsObject(m)) {
        snprintf(err, errcap, "docker option 'mounts' needs {source, target[, read_only]} objects");
        return CORRAL_EPERM;
    }
    cJSON_ArrayForEach(it, m) {
        if (strcmp(it->string, "source") && strcmp(it->string, "target") && strcmp(it->string, "read_only")) {
            snprintf(err, errcap, "refused docker option 'mounts.%s' (allowed: source, target, read_only)",
                     it->string);
            return CORRAL_EPERM;
        }
    }
    if (!cJSON_IsString(src) || !cJSON_IsString(dst) || (ro && !cJSON_IsBool(ro))) {
        snprintf(err, errcap, "docker option 'mounts' needs {source, target[, read_only]} strings");
        return CORRAL_EPERM;
    }
    static const char *const none[] = {NULL};
    int rc = dk_mount_check(src->valuestring, dst->valuestring, allowed ? allowed : none, err, errcap);
    if (rc)
        return rc;
    cJSON *ms = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
    if (!ms)
        ms = cJSON_AddArrayToObject(hc, "Mounts");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Type", "bind");
    cJSON_AddStringToObject(o, "Source", src->valuestring);
    cJSON_AddStringToObject(o, "Target", dst->valuestring);
    cJSON_AddBoolToObject(o, "ReadOnly", cJSON_IsTrue(ro));
    cJSON_AddItemToArray(ms, o);
    return 0;
}

int dk_options_apply(const char *options_json, const char *const *allowed_mounts, cJSON *body,
                     cJSON *hc, char *err, size_t errcap)
{
    int rc = 0;
    if (!options_json || !*options_json)
        return 0;
    cJSON *o = cJSON_Parse(options_json);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errcap, "docker create options are not a JSON object");
        cJSON_Delete(o);
        return CORRAL_EINVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        const char *k = it->string;
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (strcasecmp(k, refused[i].key) == 0)
                FAIL("refused docker option '%s': %s", k, refused[i].why);
        if (!in_list(k, known))
            FAIL("refused docker option '%s': unknown (allowed: shm_size, tmpfs, ulimits, cap_add, dns, "
                 "extra_hosts, runtime, mounts, hostname, cpuset_cpus)", k);
        if (strcmp(k, "shm_size") == 0) {
            if (!cJSON_IsNumber(it) || it->valuedouble < 0)
                FAIL("docker option 'shm_size' must be a non-negative number of bytes");
            cJSON_DeleteItemFromObjectCaseSensitive(hc, "ShmSize");
            cJSON_AddNumberToObject(hc, "ShmSize", it->valuedouble);
        } else if (strcmp(k, "tmpfs") == 0) {
            if (!cJSON_IsObject(it))
                FAIL("docker option 'tmpfs' must be an object {\"/path\": \"options\"}");
            cJSON *t = cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs");
            if (!t)
                t = cJSON_AddObjectToObject(hc, "Tmpfs");
            const cJSON *e;
            cJSON_ArrayForEach(e, it) {
                if (!cJSON_IsString(e) || e->string[0] != '/' || strstr(e->string, ".."))
                    FAIL("docker option 'tmpfs': '%s' needs an absolute path and a string", e->string);
                cJSON_AddStringToObject(t, e->string, e->valuestring);
            }
        } else if (strcmp(k, "ulimits") == 0) {
            if (!cJSON_IsArray(it))
                FAIL("docker option 'ulimits' must be an array of {name, soft, hard}");
            cJSON *u = cJSON_GetObjectItemCaseSensitive(hc, "Ulimits");
            if (!u)
                u = cJSON_AddArrayToObject(hc, "Ulimits");
            const cJSON *e;
            cJSON_ArrayForEach(e, it) {
                const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "soft");
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "hard");
                if (!cJSON_IsString(n) || !cJSON_IsNumber(s) || !cJSON_IsNumber(h))
                    FAIL("docker option 'ulimits' entries need name, soft and hard");
                if (!in_list(n->valuestring, ulimit_ok))
                    FAIL("refused docker option 'ulimits.%s' (allowed: nofile nproc core stack fsize cpu)",
                         n->valuestring);
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "Name", n->valuestring);
                cJSON_AddNumberToObject(x, "Soft", s->valuedouble);
                cJSON_AddNumberToObject(x, "Hard", h->valuedouble);
                cJSON_AddItemToArray(u, x);
            }
        } else if (strcmp(k, "cap_add") == 0) {
            if (!cJSON_IsArray(it))
                FAIL("docker option 'cap_add' must be an array of capability names");
            cJSON *c = cJSON_GetObjectItemCaseSensitive(hc, "CapAdd");
            if (!c)
                c = cJSON_AddArrayToObject(hc, "CapAdd");
            const cJSON *e;
            cJSON_ArrayForEach(e, it) {
                const char *canon;
                if (!cJSON_IsString(e) || !dk_cap_allowed(e->valuestring, &canon))
                    FAIL("refused docker option 'cap_add' value '%s' (allowed: CHOWN DAC_OVERRIDE FOWNER "
                         "FSETID SETUID SETGID KILL NET_BIND_SERVICE SYS_CHROOT SETFCAP AUDIT_WRITE)",
                         cJSON_IsString(e) ? e->valuestring : "?");
                cJSON_AddItemToArray(c, cJSON_CreateString(canon));
            }
        } else if (strcmp(k, "dns") == 0 || strcmp(k, "extra_hosts") == 0) {
            if (!cJSON_IsArray(it) || add_strings(hc, k[0] == 'd' ? "Dns" : "ExtraHosts", it))
                FAIL("docker option '%s' must be an array of non-empty strings", k);
        } else if (strcmp(k, "runtime") == 0) {
            if (!cJSON_IsString(it) || !*it->valuestring ||
                strspn(it->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(it->valuestring))
                FAIL("docker option 'runtime' must be a runtime name");
            cJSON_DeleteItemFromObjectCaseSensitive(hc, "Runtime");
            cJSON_AddStringToObject(hc, "Runtime", it->valuestring);
        } else if (strcmp(k, "mounts") == 0) {
            if (!cJSON_IsArray(it))
                FAIL("docker option 'mounts' must be an array");
            const cJSON *e;
            cJSON_ArrayForEach(e, it) {
                if ((rc = add_mount(hc, e, allowed_mounts, err, errcap)))
                    goto out;
            }
        } else if (strcmp(k, "hostname") == 0) {
            if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 63)
                FAIL("docker option 'hostname' must be a host name");
            cJSON_DeleteItemFromObjectCaseSensitive(body, "Hostname");
            cJSON_AddStringToObject(body, "Hostname", it->valuestring);
        } else if (strcmp(k, "cpuset_cpus") == 0) {
            if (!cJSON_IsString(it) || strspn(it->valuestring, "0123456789,-") != strlen(it->valuestring))
                FAIL("docker option 'cpuset_cpus' must look like \"0-3,5\"");
            cJSON_DeleteItemFromObjectCaseSensitive(hc, "CpusetCpus");
            cJSON_AddStringToObject(hc, "CpusetCpus", it->valuestring);
        }
    }
out:
    cJSON_Delete(o);
    return rc;
}

char *dk_label_filter_json(const char *const *filters)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "label");
    cJSON_AddItemToArray(a, cJSON_CreateString("corral.id"));
    for (size_t i = 0; filters && filters[i]; i++) {
        if (!filters[i][0] || filters[i][0] == '=') {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(a, cJSON_CreateString(filters[i]));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
