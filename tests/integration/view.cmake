# corral view (docs/view.md): the CLI, and the page in a real headless
# Chromium (label "browser"; skipped without chromium, a failure under
# CORRAL_REQUIRE_BACKENDS).  Chromium is not sanitized; the corral it runs is.
corral_add_cli_test(view_cli view_cli.sh)
foreach(t view_browser view_escaping view_large)
  add_test(NAME ${t} COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/view/${t}.py)
  set_tests_properties(${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS browser ENVIRONMENT
    "CORRAL=$<TARGET_FILE:corral_cli>;CORRAL_BUILD_PLUGIN_DIR=${CORRAL_BUILD_PLUGIN_DIR};SOURCE_DIR=${CMAKE_SOURCE_DIR};BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()
# The small run uses the local sandbox, as report_local does.
set_tests_properties(view_browser PROPERTIES RUN_SERIAL TRUE)
