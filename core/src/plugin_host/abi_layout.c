/*
 * Frozen layouts of ABI 1.0 and 1.1.  A released struct never changes:
 * these assertions fail the build if a field moves.  New fields are
 * appended and get their own assertion here when their minor is released.
 */
#include <assert.h>
#include <stddef.h>

#include <corral/agent.h>
#include <corral/plugin.h>
#include <corral/sandbox.h>

#define FROZEN(type, field, off) static_assert(offsetof(type, field) == (off), #type "." #field " moved")
#define P sizeof(void *)

FROZEN(struct corral_plugin, struct_size, 0);
FROZEN(struct corral_plugin, abi_version, P);
FROZEN(struct corral_plugin, kind, P + 4);
FROZEN(struct corral_plugin, name, 2 * P);
FROZEN(struct corral_plugin, version, 3 * P);
FROZEN(struct corral_plugin, description, 4 * P);
FROZEN(struct corral_plugin, options, 5 * P);
FROZEN(struct corral_plugin, option_size, 6 * P);
FROZEN(struct corral_plugin, ops, 7 * P);
FROZEN(struct corral_plugin, init, 8 * P);
FROZEN(struct corral_plugin, fini, 9 * P);
/* ABI 1.1 */
FROZEN(struct corral_plugin, init2, 10 * P);
FROZEN(struct corral_plugin, state_size, 11 * P);

FROZEN(struct corral_option, name, 0);
FROZEN(struct corral_option, type, P);
FROZEN(struct corral_option, flags, P + 4);
FROZEN(struct corral_option, default_json, 2 * P);
FROZEN(struct corral_option, description, 3 * P);
/* ABI 1.1 */
FROZEN(struct corral_option, offset, 4 * P);
FROZEN(struct corral_option, min, 5 * P);
FROZEN(struct corral_option, max, 5 * P + 8);

FROZEN(struct corral_host_offer, abi_majors, P);
FROZEN(struct corral_host_offer, n_abi_majors, 2 * P);
FROZEN(struct corral_host_offer, host, 3 * P);

FROZEN(struct corral_host, abi_version, P);
FROZEN(struct corral_host, log, 2 * P);
FROZEN(struct corral_host, vlog, 3 * P);
FROZEN(struct corral_host, fail, 4 * P);
FROZEN(struct corral_host, remaining_ms, 5 * P);
FROZEN(struct corral_host, cancelled, 6 * P);
FROZEN(struct corral_host, now_ms, 7 * P);
FROZEN(struct corral_host, config_string, 8 * P);
FROZEN(struct corral_host, config_strings, 12 * P);
FROZEN(struct corral_host, secret, 13 * P);
FROZEN(struct corral_host, http, 14 * P);
FROZEN(struct corral_host, http_response_free, 15 * P);
FROZEN(struct corral_host, archive_extract_at, 16 * P);
FROZEN(struct corral_host, archive_tree_at, 17 * P);

FROZEN(struct corral_sandbox_ops, caps, P);
FROZEN(struct corral_sandbox_ops, create, 2 * P);
FROZEN(struct corral_sandbox_ops, exec, 3 * P);
FROZEN(struct corral_sandbox_ops, destroy, 4 * P);
FROZEN(struct corral_sandbox_ops, close, 5 * P);
FROZEN(struct corral_sandbox_ops, state, 6 * P);
FROZEN(struct corral_sandbox_ops, remove, 20 * P);
FROZEN(struct corral_sandbox_ops, quiesce, 21 * P);
FROZEN(struct corral_sandbox_ops, set_egress, 22 * P);
FROZEN(struct corral_sandbox_ops, build_image, 23 * P);
FROZEN(struct corral_sandbox_ops, image_present, 24 * P);
FROZEN(struct corral_sandbox_ops, images, 25 * P);
FROZEN(struct corral_backend_image, ref, P);
FROZEN(struct corral_backend_image, id, 2 * P);
FROZEN(struct corral_backend_image, size, 3 * P);
FROZEN(struct corral_backend_image, created, 3 * P + 8);
FROZEN(struct corral_backend_image, in_use, 3 * P + 16);

FROZEN(struct corral_source, length, 3 * P);
/* ABI 1.1, appended by issue 22 (no resends of non-idempotent requests) */
FROZEN(struct corral_source, rewind, 3 * P + 8);
FROZEN(struct corral_http_request, idempotent, offsetof(struct corral_http_request, fresh_connection) + sizeof(int));

FROZEN(struct corral_agent_ops, spec_json, P);
FROZEN(struct corral_agent_ops, parse_event, 2 * P);
