# corral_add_agent_spec(<name> VERSION <v> DESCRIPTION <text>
#                       [SPEC <file>] [TEST_OUTPUT_DIRECTORY <dir>])
# Builds agent_<name>.so from ./spec.json (or SPEC): the spec is embedded as
# a C string, checked for JSON well-formedness at configure time.  With
# TEST_OUTPUT_DIRECTORY the plugin is a test's: built there, never installed.
function(corral_add_agent_spec name)
  cmake_parse_arguments(A "" "VERSION;DESCRIPTION;SPEC;TEST_OUTPUT_DIRECTORY" "" ${ARGN})
  set(spec "${CMAKE_CURRENT_SOURCE_DIR}/spec.json")
  if(A_SPEC)
    set(spec "${A_SPEC}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${spec}")
  file(READ "${spec}" text)
  string(JSON ignored ERROR_VARIABLE err GET "${text}" name)
  if(err)
    message(FATAL_ERROR "${spec}: ${err}")
  endif()
  file(READ "${spec}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  set(header "${CMAKE_CURRENT_BINARY_DIR}/agent_${name}_spec.h")
  file(WRITE "${header}.tmp" "static const char agent_spec_json[] = {${bytes} 0x00};\n")
  configure_file("${header}.tmp" "${header}" COPYONLY)
  if(A_TEST_OUTPUT_DIRECTORY)
    corral_add_plugin(agent ${name} SOURCES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/spec_plugin.c
                      OUTPUT_DIRECTORY ${A_TEST_OUTPUT_DIRECTORY})
  else()
    corral_add_plugin(agent ${name} SOURCES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/spec_plugin.c
                      OUTPUT_DIRECTORY ${CORRAL_BUILD_PLUGIN_DIR} INSTALL_DIR ${CORRAL_PLUGIN_INSTALL_DIR})
  endif()
  target_compile_definitions(agent_${name} PRIVATE
    AGENT_SPEC_HEADER="${header}" AGENT_NAME="${name}" AGENT_VERSION="${A_VERSION}"
    AGENT_DESCRIPTION="${A_DESCRIPTION}")
endfunction()
