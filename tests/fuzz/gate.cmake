# The gate's parsers, compiled into the fuzzers with full instrumentation:
# the chat request (agent input) and responses/replay lines (trainer and
# script input), the Anthropic Messages, OpenAI Responses and Gemini requests
# (agent input), the MCP endpoint's JSON-RPC messages (agent input) and
# tool results (trainer input), a central gate's MCP answers to a node.  They
# need only cJSON and OpenSSL, not libcorral.
set(GATE_FUZZ_SOURCES ${PROJECT_SOURCE_DIR}/core/src/gate/gate_wire.c ${PROJECT_SOURCE_DIR}/core/src/gate/gate_render.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_render_messages.c ${PROJECT_SOURCE_DIR}/core/src/gate/gate_messages.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_render_responses.c ${PROJECT_SOURCE_DIR}/core/src/gate/gate_responses.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_translate.c ${PROJECT_SOURCE_DIR}/core/src/gate/gate_tr_spans.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_gemini.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_render_gemini.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_replay.c
                      ${PROJECT_SOURCE_DIR}/core/src/gate/gate_mcp_wire.c
                      ${PROJECT_SOURCE_DIR}/core/src/base/json_scan.c ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
                      ${PROJECT_SOURCE_DIR}/common/strv.c ${PROJECT_SOURCE_DIR}/common/number.c
                      ${CMAKE_CURRENT_SOURCE_DIR}/gate_fuzz_answer.c)
foreach(t fuzz_gate_request fuzz_gate_replay fuzz_gate_render fuzz_gate_messages fuzz_gate_responses fuzz_gate_gemini
          fuzz_gate_mcp)
  corral_add_fuzzer(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c ${GATE_FUZZ_SOURCES}
                    LIBRARIES PkgConfig::CJSON PkgConfig::CRYPTO PkgConfig::MHD corral_plugin_sdk)
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                            ${PROJECT_SOURCE_DIR}/common)
endforeach()
# The remote nodes' route paths (trainer-listener input, docs/gate.md "Remote nodes").
corral_add_fuzzer(fuzz_gate_node_path SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_gate_node_path.c
                  ${PROJECT_SOURCE_DIR}/core/src/gate/gate_node_path.c)
target_include_directories(fuzz_gate_node_path PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
# The "auxiliary" rule (a trainer's HTTP registration body, an agent spec's rule; docs/gate.md "Call kinds").
corral_add_fuzzer(fuzz_gate_aux SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_gate_aux.c
                  ${PROJECT_SOURCE_DIR}/core/src/gate/gate_aux.c ${PROJECT_SOURCE_DIR}/common/number.c
                  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_gate_aux PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                          ${PROJECT_SOURCE_DIR}/common)
# A same-dialect upstream's streamed answer, reassembled for the transcript (upstream input,
# docs/gate-dialects.md "Same-dialect upstreams").
corral_add_fuzzer(fuzz_gate_sse SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_gate_sse.c
                  ${PROJECT_SOURCE_DIR}/core/src/gate/gate_sse.c ${PROJECT_SOURCE_DIR}/common/buf.c
                  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_gate_sse PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                          ${PROJECT_SOURCE_DIR}/common)
