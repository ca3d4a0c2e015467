/* Host-side, cached installs of agent CLIs (npm). */
#ifndef CORRAL_AGENT_INSTALL_H
#define CORRAL_AGENT_INSTALL_H

#include <stddef.h>

#include "rollout/agent_spec.h"
#include "base/internal.h"
#include <corral/corral.h>

/* The package.json an npm install directory starts with. */
#define CRL_AGENT_PACKAGE_JSON "{\"private\": true}\n"

/* The cache root: $CORRAL_CACHE_DIR/agents, /var/cache/corral/agents for
 * root, else $XDG_CACHE_HOME/corral/agents. */
int crl_agent_cache_root(char *buf, size_t cap);
/* Make sure spec's npm packages are installed in the cache; writes the
 * install directory into dir.  Idempotent and safe to run concurrently. */
int crl_agent_install_host(const struct crl_agent_spec *s, char *dir, size_t cap, struct corral_call *call);
/* Append to argv the npm command that installs spec's pinned packages,
 * run from the install directory, which holds CRL_AGENT_PACKAGE_JSON.
 * Never --prefix DIR: npm then also reads its global config from
 * DIR/etc/npmrc, dropping the machine's own (registry, CA, proxy).  On an
 * odd package spec writes why and returns CORRAL_EINVAL; the caller owns
 * argv in every case. */
int crl_agent_npm_argv(const struct crl_agent_spec *s, struct crl_strv *argv, char *why, size_t wl);

#endif
