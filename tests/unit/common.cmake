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
