/* Pure pieces of sandbox_local: the holder's bwrap argv, /proc stat
 * parsing, meta.json, the env file and the detached fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

/* A fake host file system: merged /usr (bin, lib, lib64, sbin are links),
 * /etc and /etc/shadow present, nothing else. */
static int fake_probe(const char *path, char *link, size_t sz)
{
    static const char *const dirs[] = {"/usr", "/etc", "/etc/shadow", NULL};
    static const char *const links[][2] = {
        {"/bin", "usr/bin"}, {"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}, {"/sbin", "usr/sbin"}, {NULL, NULL}};
    for (size_t i = 0; dirs[i]; i++)
        if (!strcmp(path, dirs[i]))
            return 1;
    for (size_t i = 0; links[i][0]; i++)
        if (!strcmp(path, links[i][0])) {
            snprintf(link, sz, "%s", links[i][1]);
            return 2;
        }
    return 0;
}

/* Index of the first occurrence of the triple (a, b, c) in v, or -1. */
static int find3(char **v, const char *a, const char *b, const char *c)
{
    for (int i = 0; v[i]; i++) {
        if (strcmp(v[i], a) != 0)
            continue;
        if (b && (!v[i + 1] || strcmp(v[i + 1], b) != 0))
            continue;
        if (c && (!v[i + 1] || !v[i + 2] || strcmp(v[i + 2], c) != 0))
            continue;
        return i;
    }
    return -1;
}

/* Stands in for the scan of /etc: one private file, one private dir. */
static char **fake_private(const char *dir)
{
    assert_string_equal(dir, "/etc");
    const char *const v[] = {"f/etc/k.pem", "d/etc/private", NULL};
    return crl_strv_dup(v);
}

static int has_path(char **v, const char *kind_path)
{
    for (size_t i = 0; v && v[i]; i++)
        if (!strcmp(v[i], kind_path))
            return 1;
    return 0;
}

/* The cached scan is rescanned after exactly the changes that can alter
 * it (a new private file, a chmod of a file or a directory), and not
 * otherwise. */
static void test_private_paths_cached(void **st)
{
    (void)st;
    char dir[] = "/tmp/corral-privc-XXXXXX", p[256], want[300];
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/pub", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    chmod(p, 0644);

    unsigned n0 = local_private_scans();
    char **v = local_private_paths_cached(dir);
    assert_non_null(v);
    assert_int_equal(crl_strv_len((const char *const *)v), 0);
    crl_strv_free_array(v);
    v = local_private_paths_cached(dir);
    assert_int_equal(local_private_scans(), n0 + 1); /* unchanged: no second scan */
    crl_strv_free_array(v);

    /* chmod of an existing file in a subdirectory: the directory itself
     * does not change, its watch reports the file's attributes. */
    chmod(p, 0600);
    v = local_private_paths_cached(dir);
    snprintf(want, sizeof want, "f%s", p);
    assert_true(has_path(v, want));
    crl_strv_free_array(v);
    assert_int_equal(local_private_scans(), n0 + 2);

    /* A new private file (made private from the start). */
    snprintf(p, sizeof p, "%s/sub/new.key", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    v = local_private_paths_cached(dir);
    snprintf(want, sizeof want, "f%s", p);
    assert_true(has_path(v, want));
    crl_strv_free_array(v);

    /* The directory made private: masked whole. */
    snprintf(p, sizeof p, "%s/sub", dir);
    chmod(p, 0700);
    v = local_private_paths_cached(dir);
    snprintf(want, sizeof want, "d%s", p);
    assert_true(has_path(v, want));
    assert_int_equal(crl_strv_len((const char *const *)v), 1);
    crl_strv_free_array(v);
    unsigned n1 = local_private_scans();
    crl_strv_free_array(local_private_paths_cached(dir));
    assert_int_equal(local_private_scans(), n1);

    local_private_cache_free();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* In a child with a mount namespace of its own: a mount elsewhere keeps
 * the cache, a mount below the scanned directory rescans it.  The exit
 * status is the number of the first check that failed. */
static int private_cache_mounts_child(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 1;
    char dir[] = "/tmp/corral-privm-XXXXXX", other[] = "/tmp/corral-privo-XXXXXX", sub[300], want[310];
    if (!mkdtemp(dir) || !mkdtemp(other) || chmod(dir, 0755) < 0)
        return 2;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    if (mkdir(sub, 0755) < 0)
        return 3;
    local_private_cache_free();
    unsigned n0 = local_private_scans();
    char **v = local_private_paths_cached(dir);
    int rc = v && crl_strv_len((const char *const *)v) == 0 ? 0 : 4;
    crl_strv_free_array(v);
    if (!rc && mount("tmpfs", other, "tmpfs", 0, "size=64k") < 0)
        rc = 5;
    if (!rc) {
        crl_strv_free_array(local_private_paths_cached(dir));
        if (local_private_scans() != n0 + 1)
            rc = 6; /* a mount elsewhere rescanned */
    }
    if (!rc && mount("tmpfs", sub, "tmpfs", 0, "size=64k,mode=700") < 0)
        rc = 7;
    if (!rc) {
        v = local_private_paths_cached(dir);
        snprintf(want, sizeof want, "d%s", sub);
        if (local_private_scans() != n0 + 2 || !has_path(v, want))
            rc = 8; /* a mount below dir was not seen */
        crl_strv_free_array(v);
    }
    umount(sub);
    umount(other);
    rmdir(sub);
    rmdir(dir);
    rmdir(other);
    local_private_cache_free();
    return rc;
}

static void test_private_cache_mounts(void **st)
{
    (void)st;
    if (geteuid() != 0) {
        skip();
        return;
    }
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0)
        _exit(private_cache_mounts_child());
    int status;
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The real scan: private files and directories listed, public ones and
 * symlinks not, private directories not descended into. */
static void test_private_paths(void **st)
{
    (void)st;
    char dir[] = "/tmp/corral-priv-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    const struct { const char *name; mode_t mode; int is_dir; } ents[] = {
        {"pub", 0644, 0}, {"key", 0600, 0}, {"open", 0755, 1}, {"open/k", 0640, 0}, {"closed", 0700, 1},
        {"closed/x", 0600, 0}};
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, ents[i].name);
        if (ents[i].is_dir) {
            assert_int_equal(mkdir(p, ents[i].mode), 0);
        } else {
            FILE *f = fopen(p, "w");
            assert_non_null(f);
            fclose(f);
        }
        chmod(p, ents[i].mode);
    }
    snprintf(p, sizeof p, "%s/link", dir);
    assert_int_equal(symlink("key", p), 0);
    char **v = local_private_paths(dir);
    assert_non_null(v);
    assert_int_equal(crl_strv_len((const char *const *)v), 3);
    char want[3][256];
    snprintf(want[0], sizeof want[0], "f%s/key", dir);
    snprintf(want[1], sizeof want[1], "f%s/open/k", dir);
    snprintf(want[2], sizeof want[2], "d%s/closed", dir);
    for (int w = 0; w < 3; w++) {
        int found = 0;
        for (size_t i = 0; v[i]; i++)
            found |= !strcmp(v[i], want[w]);
        assert_true(found);
    }
    crl_strv_free_array(v);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_holder_argv(void **st)
{
    (void)st;
    struct corral_mount mounts[] = {{"/run/gate.sock", "/run/corral/gate.sock", 1}, {"/data", "/data", 0}};
    struct local_holder_args a = {.bwrap = "/usr/bin/bwrap", .workspace = "/s/ws", .workdir = "/workspace",
                                  .ready_fd = 3, .info_fd = 4, .ttl_s = 600, .mounts = mounts, .n_mounts = 2,
                                  .probe = fake_probe, .mask_private = 1, .private_paths = fake_private};
    char **v = local_holder_argv(&a);
    assert_non_null(v);
    assert_string_equal(v[0], "/usr/bin/bwrap");
    for (const char *const *ns = (const char *const[]){"--unshare-user", "--unshare-pid", "--unshare-ipc",
                                                        "--unshare-uts", "--unshare-net", "--new-session", NULL};
         *ns; ns++)
        assert_true(find3(v, *ns, NULL, NULL) > 0);
    assert_true(find3(v, "--ro-bind", "/usr", "/usr") > 0);
    assert_true(find3(v, "--ro-bind", "/etc", "/etc") > 0);
    assert_true(find3(v, "--symlink", "usr/bin", "/bin") > 0);
    assert_true(find3(v, "--symlink", "usr/lib64", "/lib64") > 0);
    assert_true(find3(v, "--ro-bind", "/dev/null", "/etc/shadow") > 0);
    /* root's private files under /etc: masked after /etc is bound */
    assert_true(find3(v, "--ro-bind", "/dev/null", "/etc/k.pem") > find3(v, "--ro-bind", "/etc", "/etc"));
    assert_true(find3(v, "--tmpfs", "/etc/private", NULL) > find3(v, "--ro-bind", "/etc", "/etc"));
    assert_true(find3(v, "--remount-ro", "/etc/private", NULL) > find3(v, "--tmpfs", "/etc/private", NULL));
    assert_int_equal(find3(v, "--ro-bind", "/lib32", NULL), -1);
    assert_true(find3(v, "--proc", "/proc", NULL) > 0);
    assert_true(find3(v, "--ro-bind", "/proc/sys", "/proc/sys") > find3(v, "--proc", "/proc", NULL));
    assert_true(find3(v, "--dev", "/dev", NULL) > 0);
    assert_true(find3(v, "--tmpfs", "/tmp", NULL) > 0);
    assert_true(find3(v, "--bind", "/s/ws", "/workspace") > 0);
    assert_true(find3(v, "--ro-bind", "/run/gate.sock", "/run/corral/gate.sock") > 0);
    assert_true(find3(v, "--bind", "/data", "/data") > 0);
    assert_true(find3(v, "--info-fd", "4", NULL) > 0);
    assert_true(find3(v, "--cap-drop", "ALL", NULL) > 0);
    /* The holder's end kills the namespace's init, whatever runs inside. */
    assert_true(find3(v, "--die-with-parent", NULL, NULL) > 0);
    /* bwrap's own --setenv would put values into argv: never used. */
    assert_int_equal(find3(v, "--setenv", NULL, NULL), -1);
    /* Mounts come after the system dirs, so they can sit inside them. */
    assert_true(find3(v, "--ro-bind", "/run/gate.sock", NULL) > find3(v, "--ro-bind", "/etc", "/etc"));
    /* The holder command ends the argv: sh -c <script> name ttl. */
    int dd = find3(v, "--", NULL, NULL);
    assert_true(dd > 0);
    assert_string_equal(v[dd + 1], "/bin/sh");
    assert_non_null(strstr(v[dd + 3], "echo >&3"));
    assert_non_null(strstr(v[dd + 3], "exec sleep"));
    assert_string_equal(v[dd + 5], "600");
    assert_null(v[dd + 6]);
    crl_strv_free_array(v);

    /* Full network: no net namespace.  No TTL: sleep forever. */
    a.share_net = 1;
    a.ttl_s = 0;
    a.n_mounts = 0;
    a.uid = "1000";
    a.gid = "1000";
    v = local_holder_argv(&a);
    assert_int_equal(find3(v, "--unshare-net", NULL, NULL), -1);
    assert_true(find3(v, "--uid", "1000", NULL) > 0);
    dd = find3(v, "--", NULL, NULL);
    assert_string_equal(v[dd + 5], "infinity");
    crl_strv_free_array(v);

    /* A relative mount path is refused. */
    struct corral_mount bad[] = {{"relative", "/x", 0}};
    a.mounts = bad;
    /* A storage limit: /tmp is the limited tmpfs's tmp/, not a fresh one. */
    a.tmp_dir = "/s/disk/tmp";
    v = local_holder_argv(&a);
    assert_non_null(v);
    assert_true(find3(v, "--bind", "/s/disk/tmp", "/tmp") > 0);
    assert_int_equal(find3(v, "--tmpfs", "/tmp", NULL), -1);
    crl_strv_free_array(v);
    a.tmp_dir = NULL;
    a.n_mounts = 1;
    assert_null(local_holder_argv(&a));
}

/* An image's root filesystem: its top entries bound one by one on
 * bwrap's tmpfs root (never the whole image onto /), bwrap's own /proc,
 * /dev and /tmp; a directory on the way to a mount point the image lacks
 * is made and its entries bound, one level at a time. */
static void test_holder_argv_image(void **st)
{
    (void)st;
    char root[] = "/tmp/corral-rootfs-XXXXXX", p[256];
    assert_non_null(mkdtemp(root));
    const char *dirs[] = {"usr", "etc", "proc", "dev", "tmp", "opt", "opt/vendor", "srv", NULL};
    for (size_t i = 0; dirs[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    snprintf(p, sizeof p, "%s/bin", root);
    assert_int_equal(symlink("usr/bin", p), 0);
    snprintf(p, sizeof p, "%s/srv/data", root);
    assert_int_equal(mkdir(p, 0755), 0); /* a mount point the image has: /srv stays one bind */
    struct corral_mount mounts[] = {{"/cache/pi", "/opt/corral/agents/pi", 1}, {"/d", "/srv/data", 0}};
    struct local_holder_args a = {.bwrap = "/usr/bin/bwrap", .root_image = root, .workspace = "/s/ws",
                                  .workdir = "/workspace", .ready_fd = 3, .info_fd = 4, .ttl_s = 60,
                                  .mounts = mounts, .n_mounts = 2};
    char **v = local_holder_argv(&a);
    assert_non_null(v);
    char src[256];
    snprintf(src, sizeof src, "%s/usr", root);
    assert_true(find3(v, "--ro-bind", src, "/usr") > 0);
    snprintf(src, sizeof src, "%s/etc", root);
    assert_true(find3(v, "--ro-bind", src, "/etc") > 0);
    assert_true(find3(v, "--symlink", "usr/bin", "/bin") > 0);
    snprintf(src, sizeof src, "%s/srv", root);
    assert_true(find3(v, "--ro-bind", src, "/srv") > 0);
    /* /opt lacks corral/agents/pi: made on the tmpfs, its entry bound. */
    assert_true(find3(v, "--dir", "/opt", NULL) > 0);
    snprintf(src, sizeof src, "%s/opt/vendor", root);
    assert_true(find3(v, "--ro-bind", src, "/opt/vendor") > find3(v, "--dir", "/opt", NULL));
    snprintf(src, sizeof src, "%s/opt", root);
    assert_int_equal(find3(v, "--ro-bind", src, "/opt"), -1);
    assert_int_equal(find3(v, "--ro-bind", root, "/"), -1);
    for (const char *const *own = (const char *const[]){"proc", "dev", "tmp", NULL}; *own; own++) {
        snprintf(src, sizeof src, "%s/%s", root, *own);
        assert_int_equal(find3(v, "--ro-bind", src, NULL), -1);
    }
    assert_true(find3(v, "--proc", "/proc", NULL) > 0);
    assert_true(find3(v, "--tmpfs", "/tmp", NULL) > 0);
    /* Mounts come after the image, so they sit inside it. */
    assert_true(find3(v, "--ro-bind", "/cache/pi", "/opt/corral/agents/pi") > find3(v, "--dir", "/opt", NULL));
    /* The host's system is not there. */
    assert_int_equal(find3(v, "--ro-bind", "/usr", "/usr"), -1);
    crl_strv_free_array(v);
    /* An image directory that cannot be read: no command. */
    a.root_image = "/nonexistent/rootfs";
    assert_null(local_holder_argv(&a));
    const char *rm[] = {"srv/data", "srv", "opt/vendor", "opt", "usr", "etc", "proc", "dev", "tmp", NULL};
    for (size_t i = 0; rm[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, rm[i]);
        rmdir(p);
    }
    snprintf(p, sizeof p, "%s/bin", root);
    unlink(p);
    rmdir(root);
}

static void test_stat_parse(void **st)
{
    (void)st;
    char state = 0;
    const char *s = "4242 (sleep) S 1 4242 4242 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0 987654 2375680 "
                    "128 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    assert_int_equal(local_parse_stat_start(s, &state), 987654);
    assert_int_equal(state, 'S');
    /* A comm with spaces and parens does not shift the fields. */
    const char *t = "7 (a) b (c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 123 0 0\n";
    assert_int_equal(local_parse_stat_start(t, &state), 123);
    assert_int_equal(state, 'Z');
    assert_int_equal(local_parse_stat_start("garbage", NULL), 0);
    assert_int_equal(local_parse_stat_start("1 (x) S 1 2", NULL), 0);
    /* Our own process is alive with a non-zero start time. */
    assert_true(local_proc_start(-1, getpid()) > 0);
    /* The owner token names this process; a pid with another start time,
     * or another host, is not it. */
    char tok[300], forged[320];
    assert_int_equal(crl_owner_token(tok, sizeof tok), 0);
    assert_int_equal(crl_owner_gone(tok), 0);
    pid_t pid;
    uint64_t start;
    assert_int_equal(crl_owner_parse(tok, &pid, &start), 0);
    assert_int_equal(pid, getpid());
    snprintf(forged, sizeof forged, "%.*s:%llu", (int)(strrchr(tok, ':') - tok), tok,
             (unsigned long long)start + 1);
    assert_int_equal(crl_owner_gone(forged), 1);
    assert_int_equal(crl_owner_gone("no-such-host.invalid:1234:5"), -1);
    assert_int_equal(crl_owner_gone("garbage"), -1);
}

static void test_ids(void **st)
{
    (void)st;
    assert_true(local_id_valid("local-0123abcd"));
    assert_true(local_id_valid("a.b_c-D"));
    assert_false(local_id_valid(""));
    assert_false(local_id_valid(NULL));
    assert_false(local_id_valid(".hidden"));
    assert_false(local_id_valid("a/b"));
    assert_false(local_id_valid(".."));
    assert_false(local_id_valid("a b"));
}

static void test_meta_roundtrip(void **st)
{
    (void)st;
    char *labels[] = {"corral.owner=me", "corral.deadline=123", "flag", NULL};
    struct local_meta m = {.id = "local-1", .workdir = "/w", .labels = labels, .holder_pid = 321,
                           .holder_start = 99887766, .created = 1700000000, .deadline = 1700000600,
                           .net_shared = 1, .limits = {1 << 20, 64, 4096},
                           .cgroups = {"/sys/fs/cgroup/pids/corral/local-1", NULL}, .cg_pids = 1};
    char *js = local_meta_to_json(&m, "/state/local-1");
    assert_non_null(js);
    assert_non_null(strstr(js, "\"state_dir\":\"/state/local-1\""));
    struct local_meta b;
    assert_int_equal(local_meta_from_json(js, &b), 0);
    assert_string_equal(b.id, "local-1");
    assert_string_equal(b.workdir, "/w");
    assert_int_equal(b.holder_pid, 321);
    assert_int_equal(b.holder_start, 99887766);
    assert_int_equal(b.deadline, 1700000600);
    assert_int_equal(b.net_shared, 1);
    assert_int_equal(b.limits.memory_bytes, 1 << 20);
    assert_int_equal(b.limits.pids_max, 64);
    assert_int_equal(b.limits.fsize_bytes, 4096);
    assert_string_equal(b.cgroups[0], "/sys/fs/cgroup/pids/corral/local-1");
    assert_null(b.cgroups[1]);
    assert_int_equal(b.cg_pids, 1);
    assert_int_equal(b.cg_memory, 0);
    assert_string_equal(b.labels[0], "corral.owner=me");
    assert_string_equal(b.labels[2], "flag=");
    assert_null(b.labels[3]);
    local_meta_free(&b);
    free(js);
    assert_int_equal(local_meta_from_json("{\"id\":\"../x\"}", &b), -1);
    assert_int_equal(local_meta_from_json("[1]", &b), -1);
    assert_int_equal(local_meta_from_json("not json", &b), -1);
}

static void test_env_file_and_rm(void **st)
{
    (void)st;
    char dir[] = "/tmp/corral-local-pure-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *const env[] = {"A=1", "MULTI=line1\nline2", "Q='$(x)'", NULL};
    assert_int_equal(local_env_save(dir, env), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/env", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char **back = NULL;
    assert_int_equal(local_env_load(dir, &back), 0);
    assert_int_equal(crl_strv_len((const char *const *)back), 3);
    assert_string_equal(back[1], "MULTI=line1\nline2");
    assert_string_equal(back[2], "Q='$(x)'");
    crl_strv_free_array(back);

    /* An empty env writes no file and reads back empty. */
    char empty[] = "/tmp/corral-local-pure-XXXXXX";
    assert_non_null(mkdtemp(empty));
    const char *const none[] = {NULL};
    assert_int_equal(local_env_save(empty, none), 0);
    snprintf(path, sizeof(path), "%s/env", empty);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(local_env_load(empty, &back), 0);
    assert_int_equal(crl_strv_len((const char *const *)back), 0);
    crl_strv_free_array(back);
    assert_int_equal(rmdir(empty), 0);

    /* rm -rf copes with unreadable directories. */
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_int_equal(crl_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/a/b", dir);
    chmod(path, 0);
    assert_int_equal(crl_rm_rf(dir), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(crl_rm_rf(dir), 0);
}

static void test_env_set(void **st)
{
    (void)st;
    struct crl_strv v = {0};
    assert_int_equal(local_env_set(&v, "A=1"), 0);
    assert_int_equal(local_env_set(&v, "AB=2"), 0);
    assert_int_equal(local_env_set(&v, "A=3"), 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.v[0], "A=3");
    assert_string_equal(v.v[1], "AB=2");
    crl_strv_free(&v);
}

/* The detached child returns only once its intermediate parent is gone:
 * bwrap --die-with-parent, exec'd there, dies with whatever parent it has
 * when it starts.  With this process a subreaper, that parent must be us. */
static void test_fork_detached_reparented(void **st)
{
    (void)st;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    for (int i = 0; i < 20; i++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t c1 = crl_fork_detached();
        if (c1 == 0) {
            pid_t pp = getppid();
            _exit(write(p[1], &pp, sizeof pp) == (ssize_t)sizeof pp ? 0 : 1);
        }
        assert_true(c1 > 0);
        close(p[1]);
        pid_t seen = 0;
        assert_int_equal(read(p[0], &seen, sizeof seen), (ssize_t)sizeof seen);
        close(p[0]);
        assert_int_equal(seen, getpid());
        while (waitpid(-1, NULL, 0) > 0) /* the intermediate, then the reparented child */
            ;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holder_argv_image),
        cmocka_unit_test(test_holder_argv), cmocka_unit_test(test_private_paths), cmocka_unit_test(test_private_paths_cached), cmocka_unit_test(test_private_cache_mounts),   cmocka_unit_test(test_stat_parse),
        cmocka_unit_test(test_ids),           cmocka_unit_test(test_meta_roundtrip),
        cmocka_unit_test(test_env_file_and_rm), cmocka_unit_test(test_env_set),
        cmocka_unit_test(test_fork_detached_reparented),
    };
    return cmocka_run_group_tests_name("sandbox_local_pure", tests, NULL, NULL);
}
