# Packaging checks that run with every build (packaging/ci.sh runs the rest).
corral_add_cli_test(manpages manpages.sh)
add_test(NAME systemd_units COMMAND bash ${CMAKE_SOURCE_DIR}/packaging/check-units.sh ${CMAKE_BINARY_DIR})
set_tests_properties(systemd_units PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME exported_symbols COMMAND bash ${CMAKE_SOURCE_DIR}/packaging/check-symbols.sh
         $<TARGET_FILE:corral> ${CORRAL_BUILD_PLUGIN_DIR})
