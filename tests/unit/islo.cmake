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
include(${PROJECT_SOURCE_DIR}/tests/fuzz/islo_hf.cmake)
