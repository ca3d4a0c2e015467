# libFuzzer targets for the Islo and HF wire JSON (clang, -DCORRAL_FUZZ=ON).
# Included from tests/unit/islo.cmake until tests/fuzz has its own CMakeLists.
if(CORRAL_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang" AND NOT TARGET fuzz_islo_json)
  foreach(t islo hf)
    if(t STREQUAL "islo")
      set(srcs ${PROJECT_SOURCE_DIR}/plugins/sandbox/islo/islo_json.c)
    else()
      set(srcs ${PROJECT_SOURCE_DIR}/plugins/sandbox/hf/hf_json.c)
    endif()
    add_executable(fuzz_${t}_json ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_${t}_json.c ${srcs})
    target_include_directories(fuzz_${t}_json PRIVATE ${PROJECT_SOURCE_DIR}/plugins/sandbox/${t})
    target_link_libraries(fuzz_${t}_json PRIVATE corral_plugin_sdk PkgConfig::CJSON)
    target_compile_options(fuzz_${t}_json PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${t}_json PRIVATE -fsanitize=fuzzer,address,undefined)
    # A short smoke run under ctest; long runs are manual.
    add_test(NAME fuzz_${t}_json_smoke COMMAND fuzz_${t}_json -runs=20000 -max_len=4096)
  endforeach()
endif()
