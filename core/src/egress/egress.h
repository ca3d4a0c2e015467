/* Inside libcorral: egress policies and the proxy that enforces them on
 * backends without a native form (see docs/egress.md).
 *
 * A policy file holds a task-wide policy and optional per-phase ones; a
 * phase without its own inherits the task's.  A policy is a default action
 * and rules in the Islo gateway model; the lowest priority that matches
 * decides (priorities default to (index+1)*10). */
#ifndef CRL_EGRESS_H
#define CRL_EGRESS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <corral/corral.h>

typedef struct cJSON cJSON;

enum crl_egress_phase { CRL_EGRESS_SETUP, CRL_EGRESS_AGENT, CRL_EGRESS_VERIFY, CRL_EGRESS_NPHASES };
enum crl_egress_action { CRL_EGRESS_DENY, CRL_EGRESS_ALLOW };

enum crl_egress_host_kind { CRL_HOST_EXACT, CRL_HOST_SUFFIX, CRL_HOST_CIDR };

/* Request methods a rule may name (a bit each). */
#define CRL_EGRESS_METHODS "GET HEAD POST PUT DELETE PATCH OPTIONS TRACE CONNECT"

struct crl_egress_rule {
    char *host_pattern;            /* as written */
    enum crl_egress_host_kind kind;
    char *host;                    /* lower case: exact name, or the suffix ".domain" */
    int family;                    /* CIDR: AF_INET or AF_INET6 */
    unsigned char addr[16];        /* CIDR: network address (masked) */
    int prefix;                    /* CIDR: prefix length (32/128 for one address) */
    char *path_pattern;            /* NULL: any path; '*' matches any run of bytes */
    unsigned methods;              /* 0: any method; else bits of CRL_EGRESS_METHODS */
    enum crl_egress_action action;
    int64_t priority;
    int64_t rate_limit_rpm;        /* 0: none */
    char name[48];                 /* "rules[2]" or "phases.verify.rules[0]" */
};

struct crl_egress_policy {
    enum crl_egress_action default_action;
    struct crl_egress_rule *rules; /* sorted by priority, file order within one */
    size_t n;
};

/* A whole policy file: phase[p] points at its own policy or at the task's
 * (`all`).  present is 0 for "no policy at all" (the zeroed struct). */
struct crl_egress {
    int present;
    struct crl_egress_policy all;
    struct crl_egress_policy own[CRL_EGRESS_NPHASES];
    int has_own[CRL_EGRESS_NPHASES];
};

/* "setup", "agent", "verify"; NULL for anything else. */
const char *crl_egress_phase_name(enum crl_egress_phase p);
/* The policy phase p obeys (never NULL for a present policy). */
const struct crl_egress_policy *crl_egress_for(const struct crl_egress *e, enum crl_egress_phase p);

/* Where a policy comes from: an operator's (--egress FILE, configuration)
 * may name private and loopback addresses; a task's may not, since the
 * proxy runs on the host (docs/egress.md). */
enum crl_egress_origin { CRL_EGRESS_OPERATOR, CRL_EGRESS_TASK };

/* Read a policy object (docs/egress.md) into *out (zeroed by the caller);
 * `file` names the source in messages ("task.json: egress.rules[1]: ...").
 * On failure *out is left empty and call says which file and rule.
 * task.toml's [egress] table comes here as JSON (rollout/task_toml.c). */
int crl_egress_from_json(const cJSON *obj, const char *file, enum crl_egress_origin origin, struct crl_egress *out,
                         struct corral_call *call);
/* Read and parse a JSON policy file (--egress FILE). */
int crl_egress_load_file(const char *path, enum crl_egress_origin origin, struct crl_egress *out,
                         struct corral_call *call);
/* Free what *e holds and zero it. */
void crl_egress_free(struct crl_egress *e);

/* One phase's policy as the JSON a native backend gets (spec.egress_json,
 * set_egress; docs/plugin-abi.md): {"default", "rules": [{"name",
 * "host_pattern", "action", "priority", "methods"?, "path_pattern"?,
 * "rate_limit_rpm"?}]} in priority order, led by an allow rule "gate"
 * (priority -1) for gate_host when not NULL.  malloc'ed (the caller
 * frees); NULL when out of memory.  (egress_native.c) */
char *crl_egress_native_json(const struct crl_egress_policy *pol, const char *gate_host);

/* --- matching (egress_match.c) --- */

/* What the proxy knows of one request.  host is lower case without a
 * trailing dot; method/path are NULL for a CONNECT tunnel (rules with
 * methods or a path_pattern apply to plain HTTP only). */
struct crl_egress_request {
    const char *host;
    const char *method;
    const char *path;
};

/* The first rule of pol matching req, or NULL (the default applies). */
const struct crl_egress_rule *crl_egress_match(const struct crl_egress_policy *pol,
                                               const struct crl_egress_request *req);
/* 1 when rule's host_pattern matches the name (lower case) or literal
 * address host. */
int crl_egress_host_matches(const struct crl_egress_rule *rule, const char *host);
/* 1 when rule is a CIDR/IP rule containing the address (family AF_INET
 * with 4 bytes or AF_INET6 with 16). */
int crl_egress_rule_has_addr(const struct crl_egress_rule *rule, int family, const unsigned char *addr);
/* 1 for addresses a name must not lead to unless a rule names them:
 * loopback, private, link-local, unspecified, CGNAT, multicast, ULA, and
 * v4-mapped forms of these. */
int crl_egress_addr_is_private(int family, const unsigned char *addr);
/* Glob with '*' only (any run of bytes, '/' included). */
int crl_egress_glob(const char *pattern, const char *s);
/* Parse "a.b.c.d" or an IPv6 literal (no brackets) into family/addr. */
int crl_egress_parse_addr(const char *s, int *family, unsigned char addr[16]);
/* Bit of a method name in CRL_EGRESS_METHODS, 0 when not one. */
unsigned crl_egress_method_bit(const char *m, size_t n);

#endif
