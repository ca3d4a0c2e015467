# sandbox_hf against the HF fake server (python3 stdlib).
find_program(PYTHON3 python3)
corral_add_unit_test(test_hf SOURCES test_hf.c testenv.c fakesrv.c
                     LIBRARIES PkgConfig::CURL PkgConfig::CJSON)
target_compile_definitions(test_hf PRIVATE HF_FAKE="${CMAKE_SOURCE_DIR}/tests/fakes/hf/hf_fake.py")
add_dependencies(test_hf sandbox_hf)
set_tests_properties(test_hf PROPERTIES TIMEOUT 300)
if(PYTHON3)
  add_test(NAME hf_fake_wire COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/hf/test_hf_fake.py)
  set_tests_properties(hf_fake_wire PROPERTIES TIMEOUT 120)
endif()
