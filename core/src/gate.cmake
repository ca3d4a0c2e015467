# The gate: model-call interception (gate.h).
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_render.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_replay.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_responders.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_scripts.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_upstream.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate_wire.c
)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/corral/gate.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corral)
