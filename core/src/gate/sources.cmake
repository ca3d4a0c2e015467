# The gate: model-call interception (gate.h).
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_dirs.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_gemini.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_http.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_leases.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_node.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_node_path.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_listen.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_messages.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_policy.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_render.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_render_gemini.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_render_messages.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_render_responses.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_responses.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_translate.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_tr_spans.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_replay.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_responders.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_scripts.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_upstream.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/gate_wire.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/gate/private_gate.c
)
