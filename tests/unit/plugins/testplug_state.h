/* What the test plugin's init() saw through the host's config accessors;
 * returned as its state so tests can check the accessors end to end. */
#ifndef TESTPLUG_STATE_H
#define TESTPLUG_STATE_H
#include <stdint.h>
struct testplug_state {
    int inits;
    int64_t retries;
    const char *endpoint;
    int verbose;
    double ratio;
    const char *const *tags;
    const char *wrong_type; /* config_string on an int option: must be NULL */
};
#endif
