# The gate (issue 15 items 12 and 13), against `corral gate serve`; the
# upstream caps of item 14 are in tests/unit/test_gate.c (test_upstream).
corral_add_attack_test(gate_memory gate_memory.sh)
corral_add_attack_test(gate_memory_messages gate_memory_messages.sh)
corral_add_attack_test(gate_memory_responses gate_memory_messages.sh responses)
corral_add_attack_test(gate_starve gate_starve.sh)
corral_add_attack_test(gate_limits_run_local gate_limits_run.sh local)
corral_add_attack_test(gate_limits_run_docker gate_limits_run.sh docker)
corral_add_attack_test(gate_upstream_caps_local gate_upstream_caps.sh local)
# Item 12 through a batch: half-open connections fill only the hog's own socket.
corral_add_attack_test(gate_starve_socket_local gate_starve_socket.sh local)
corral_add_attack_test(gate_starve_socket_docker gate_starve_socket.sh docker)
