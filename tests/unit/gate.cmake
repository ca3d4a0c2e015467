# The gate: real HTTP (libcurl) against the real MHD server on loopback.
corral_add_unit_test(test_gate SOURCES test_gate.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
# `corral gate serve` as a process (token derivation, trainer API, SIGTERM, usage errors).
corral_add_unit_test(test_gate_cli SOURCES test_gate_cli.c LIBRARIES PkgConfig::CURL PkgConfig::CJSON PkgConfig::CRYPTO)
add_dependencies(test_gate_cli corral_cli)
# The validating JSON scanner and the chat-request reader on it (internals).
corral_add_unit_test(test_json_scan SOURCES test_json_scan.c LIBRARIES PkgConfig::CJSON PkgConfig::MHD)
target_include_directories(test_json_scan PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
# The Anthropic Messages edge: request translation and rendering (internals) and over HTTP.
corral_add_unit_test(test_gate_messages SOURCES test_gate_messages.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
target_include_directories(test_gate_messages PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
corral_add_unit_test(test_gate_responses SOURCES test_gate_responses.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
target_include_directories(test_gate_responses PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
# The Gemini generateContent edge: request translation and rendering (internals) and over HTTP.
corral_add_unit_test(test_gate_gemini SOURCES test_gate_gemini.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
target_include_directories(test_gate_gemini PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
# The per-rollout MCP endpoint and the trainer's tools (docs/gate.md "Tools over MCP"), over HTTP.
corral_add_unit_test(test_gate_mcp SOURCES test_gate_mcp.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
# A remote node between two gates over HTTP: dialect and raw body reach the central trainer, its DELETE reaches the node.
corral_add_unit_test(test_gate_node SOURCES test_gate_node.c http_client.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
# The dialect edges' long strings carried as spans, against the whole-tree translation (internals).
corral_add_unit_test(test_gate_tr_spans SOURCES test_gate_tr_spans.c LIBRARIES PkgConfig::CJSON PkgConfig::MHD)
target_include_directories(test_gate_tr_spans PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
# A same-dialect upstream's SSE reassembled into the unstreamed response (gate_sse.c, internals).
corral_add_unit_test(test_gate_sse SOURCES test_gate_sse.c LIBRARIES PkgConfig::CJSON)
target_include_directories(test_gate_sse PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
