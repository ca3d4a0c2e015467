# sandbox_hf against the HF fake server (python3 stdlib).
find_program(PYTHON3 python3)
corral_add_unit_test(test_hf SOURCES test_hf.c testenv.c fakesrv.c
                     LIBRARIES PkgConfig::CURL PkgConfig::CJSON)
target_compile_definitions(test_hf PRIVATE HF_FAKE="${CMAKE_SOURCE_DIR}/tests/fakes/hf/hf_fake.py")
add_dependencies(test_hf sandbox_hf)
set_tests_properties(test_hf PROPERTIES TIMEOUT 300)
# The same tests against the successor server protocol (sandbox-server /v1).
add_test(NAME test_hf_v1 COMMAND test_hf)
set_tests_properties(test_hf_v1 PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 ENVIRONMENT "HF_TEST_SERVER_API=v1")
if(PYTHON3)
  add_test(NAME hf_fake_wire COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/hf/test_hf_fake.py)
  set_tests_properties(hf_fake_wire PROPERTIES TIMEOUT 120)
endif()
# The backend-independent contract suite against the fake (77 = skipped).
add_test(NAME conformance_hf_fake
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fakes/conformance_fake.sh hf
                 $<TARGET_FILE:corral-conformance> ${CORRAL_BUILD_PLUGIN_DIR})
set_tests_properties(conformance_hf_fake PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE
                     LABELS conformance)
add_test(NAME conformance_hf_v1_fake
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fakes/conformance_fake.sh hf
                 $<TARGET_FILE:corral-conformance> ${CORRAL_BUILD_PLUGIN_DIR})
set_tests_properties(conformance_hf_v1_fake PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE
                     LABELS conformance ENVIRONMENT "HF_SERVER_API=v1")
# Live smoke test against the real cloud (skipped, 77, without credentials).
corral_add_unit_test(test_hf_live SOURCES test_cloud_live.c testenv.c)
target_compile_definitions(test_hf_live PRIVATE BACKEND="hf")
add_dependencies(test_hf_live sandbox_hf)
set_tests_properties(test_hf_live PROPERTIES TIMEOUT 900)
