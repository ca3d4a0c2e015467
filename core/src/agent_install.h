/* Host-side, cached installs of agent CLIs (npm). */
#ifndef CORRAL_AGENT_INSTALL_H
#define CORRAL_AGENT_INSTALL_H

#include <stddef.h>

#include "agent_spec.h"
#include <corral/corral.h>

/* The cache root: $CORRAL_CACHE_DIR/agents, /var/cache/corral/agents for
 * root, else $XDG_CACHE_HOME/corral/agents. */
int crl_agent_cache_root(char *buf, size_t cap);
/* Make sure spec's npm packages are installed in the cache; writes the
 * install directory into dir.  Idempotent and safe to run concurrently. */
int crl_agent_install_host(const struct crl_agent_spec *s, char *dir, size_t cap, struct corral_call *call);

#endif
