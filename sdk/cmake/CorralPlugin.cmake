# corral_add_plugin(<kind> <name> SOURCES <src>... [LIBRARIES <lib>...])
#
# Builds a corral plugin: a MODULE library named <kind>_<name>.so (kind is
# "sandbox" or "agent") that exports only corral_plugin_entry.  Used by the
# corral source tree and, through find_package(Corral), by third parties.
# Link your plugin's own dependencies with LIBRARIES; the SDK headers come
# from the Corral::plugin target.
function(corral_add_plugin kind name)
  cmake_parse_arguments(P "" "OUTPUT_DIRECTORY;INSTALL_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT kind MATCHES "^(sandbox|agent)$")
    message(FATAL_ERROR "corral_add_plugin: kind must be sandbox or agent, not '${kind}'")
  endif()
  if(NOT name MATCHES "^[a-z0-9_]+$")
    message(FATAL_ERROR "corral_add_plugin: name '${name}' must match [a-z0-9_]+")
  endif()
  set(target "${kind}_${name}")
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
  if(TARGET Corral::plugin)
    target_link_libraries(${target} PRIVATE Corral::plugin)
  else()
    target_link_libraries(${target} PRIVATE corral_plugin_sdk)
  endif()
  if(P_LIBRARIES)
    target_link_libraries(${target} PRIVATE ${P_LIBRARIES})
  endif()
  # Only the entry point is exported; everything else stays local even if a
  # source forgets `static`.
  set(map "${CMAKE_CURRENT_BINARY_DIR}/${target}.map")
  file(WRITE "${map}" "{ global: corral_plugin_entry; local: *; };\n")
  target_link_options(${target} PRIVATE "-Wl,--version-script=${map}" "-Wl,-z,defs" "-Wl,-z,now")
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIRECTORY}")
  endif()
  if(P_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${P_INSTALL_DIR}")
  endif()
endfunction()
