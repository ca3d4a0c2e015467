# common/: helpers shared by libcorral and the in-tree plugins.
corral_add_unit_test(test_common SOURCES test_common.c LIBRARIES corral_common)
# Again in a Latin-1 locale, where isalpha() takes bytes above 127 (built
# with localedef into the build tree; 77 = skipped where it cannot be).
add_test(NAME test_common_latin1
         COMMAND sh -c "d=\"$0.locale\"; mkdir -p \"$d\" && localedef -i en_US -f ISO-8859-1 \"$d/en_US.ISO-8859-1\" >/dev/null 2>&1 || { echo 'no localedef or en_US source: skipped'; exit 77; }; LOCPATH=\"$d\" exec \"$0\""
                 $<TARGET_FILE:test_common>)
# glibc keeps what it loads for a locale from LOCPATH for the life of the
# process, which LeakSanitizer reports; test_common checks our leaks.
set_tests_properties(test_common_latin1 PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
corral_add_unit_test(test_common_archive SOURCES test_common_archive.c LIBRARIES corral_common_archive)
# The TOML parser: cmocka tests, and the differential test against Python's
# tomllib over a generated corpus (toml_dump prints what corral parsed).
corral_add_unit_test(test_toml SOURCES test_toml.c LIBRARIES corral_common)
# Again in de_DE, whose decimal point is a comma (built with localedef into
# the build tree, as above; 77 = skipped where it cannot be).
add_test(NAME test_toml_comma
         COMMAND sh -c "d=\"$0.locale\"; mkdir -p \"$d\" && localedef -i de_DE -f UTF-8 \"$d/de_DE.UTF-8\" >/dev/null 2>&1 || { echo 'no localedef or de_DE source: skipped'; exit 77; }; LOCPATH=\"$d\" TOML_TEST_LOCALE=de_DE.UTF-8 exec \"$0\""
                 $<TARGET_FILE:test_toml>)
set_tests_properties(test_toml_comma PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
add_executable(toml_dump toml_dump.c)
target_link_libraries(toml_dump PRIVATE corral_common)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME toml_diff COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/toml_diff.py $<TARGET_FILE:toml_dump> 4000)
endif()
