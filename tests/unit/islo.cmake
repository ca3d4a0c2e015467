# sandbox_islo against the Islo fake server (python3 stdlib).
find_program(PYTHON3 python3)
corral_add_unit_test(test_islo SOURCES test_islo.c testenv.c fakesrv.c
                     LIBRARIES PkgConfig::CURL PkgConfig::CJSON PkgConfig::ARCHIVE)
target_compile_definitions(test_islo PRIVATE ISLO_FAKE="${CMAKE_SOURCE_DIR}/tests/fakes/islo/islo_fake.py")
add_dependencies(test_islo sandbox_islo)
set_tests_properties(test_islo PROPERTIES TIMEOUT 300)
if(PYTHON3)
  add_test(NAME islo_fake_wire COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/islo/test_islo_fake.py)
  set_tests_properties(islo_fake_wire PROPERTIES TIMEOUT 120)
endif()
# The backend-independent contract suite against the fake (77 = skipped).
add_test(NAME conformance_islo_fake
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fakes/conformance_fake.sh islo
                 $<TARGET_FILE:corral-conformance> ${CORRAL_BUILD_PLUGIN_DIR})
set_tests_properties(conformance_islo_fake PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE
                     LABELS conformance)
# Live smoke test against the real cloud (skipped, 77, without credentials).
corral_add_unit_test(test_islo_live SOURCES test_cloud_live.c testenv.c)
target_compile_definitions(test_islo_live PRIVATE BACKEND="islo")
add_dependencies(test_islo_live sandbox_islo)
set_tests_properties(test_islo_live PROPERTIES TIMEOUT 900)
