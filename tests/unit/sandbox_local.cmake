# sandbox_local.so: its pure pieces (argv, stat parsing, meta.json, env
# file) linked from the plugin's sources, and the plugin itself loaded by
# libcorral's loader and driven through its ops table.  The second needs
# bubblewrap and user namespaces; it exits 77 (skipped) without them.
set(SANDBOX_LOCAL_SRC ${PROJECT_SOURCE_DIR}/plugins/sandbox/local)
corral_add_unit_test(test_sandbox_local_pure
  SOURCES test_sandbox_local_pure.c ${SANDBOX_LOCAL_SRC}/argv.c ${SANDBOX_LOCAL_SRC}/state.c
          ${SANDBOX_LOCAL_SRC}/strv.c
  LIBRARIES PkgConfig::CJSON)
target_include_directories(test_sandbox_local_pure PRIVATE ${SANDBOX_LOCAL_SRC})

corral_add_unit_test(test_sandbox_local SOURCES test_sandbox_local.c LIBRARIES PkgConfig::ARCHIVE)
add_dependencies(test_sandbox_local sandbox_local)
set_tests_properties(test_sandbox_local PROPERTIES TIMEOUT 300)
