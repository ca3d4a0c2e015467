# sandbox_local.so: its pure pieces (argv, stat parsing, meta.json, env
# file) linked from the plugin's sources, and the plugin itself loaded by
# libcorral's loader and driven through its ops table.  The second needs
# bubblewrap and user namespaces; it exits 77 (skipped) without them.
set(SANDBOX_LOCAL_SRC ${PROJECT_SOURCE_DIR}/plugins/sandbox/local)
corral_add_unit_test(test_sandbox_local_pure
  SOURCES test_sandbox_local_pure.c ${SANDBOX_LOCAL_SRC}/argv.c ${SANDBOX_LOCAL_SRC}/state.c
          ${SANDBOX_LOCAL_SRC}/env.c ${SANDBOX_LOCAL_SRC}/private.c
  LIBRARIES corral_common PkgConfig::CJSON)
target_include_directories(test_sandbox_local_pure PRIVATE ${SANDBOX_LOCAL_SRC})

corral_add_unit_test(test_sandbox_local SOURCES test_sandbox_local.c LIBRARIES PkgConfig::ARCHIVE)
add_dependencies(test_sandbox_local sandbox_local)
set_tests_properties(test_sandbox_local PROPERTIES TIMEOUT 300)

# The same test as an unprivileged user (root only can switch; 77 = skipped).
add_test(NAME test_sandbox_local_unprivileged
         COMMAND sh -c "[ \"$(id -u)\" = 0 ] && command -v setpriv >/dev/null || { echo 'needs root and setpriv: skipped'; exit 77; }; exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp \"$0\""
                 $<TARGET_FILE:test_sandbox_local>)
set_tests_properties(test_sandbox_local_unprivileged PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                     ENVIRONMENT "CORRAL_LIBEXEC_DIR=${CMAKE_BINARY_DIR}/bin")
