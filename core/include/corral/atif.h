/*
 * libcorral ATIF trajectories: one RolloutResult (its gate transcript and
 * the agent's normalized events) rendered as a trajectory in Harbor's Agent
 * Trajectory Interchange Format, ATIF-v1.7.  Which result field becomes
 * which ATIF field, and what is approximate, is in docs/atif.md.
 */
#ifndef CORRAL_ATIF_H
#define CORRAL_ATIF_H

#include <corral/corral.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORRAL_ATIF_SCHEMA_VERSION "ATIF-v1.7"

/* The trajectory of the RolloutResult in `result_json` (`len` bytes, not
 * necessarily NUL-terminated; the caller keeps it) as indented JSON in
 * *out, malloc'ed, the caller frees.  The same result always gives the same
 * bytes.  CORRAL_EINVAL (why in `call`) when the text is not a JSON object
 * with a "rollout_id" string; CORRAL_ENOMEM. */
int corral_atif_from_result(const char *result_json, size_t len, char **out, struct corral_call *call);

/* corral_atif_from_result() written to DIR/<rollout id>/trajectory.json:
 * the directories made as needed (mode 0755), the file written to a
 * temporary name in the same directory, synced and renamed over the old
 * one, so a reader sees a whole file or none.  *path_out (when not NULL)
 * gets the file's path, malloc'ed, the caller frees.  CORRAL_EINVAL also
 * for a rollout id that is not a plain file name; CORRAL_EIO (with the
 * path and reason in `call`) when it cannot be written. */
int corral_atif_write(const char *dir, const char *result_json, size_t len, char **path_out,
                      struct corral_call *call);

#ifdef __cplusplus
}
#endif

#endif
