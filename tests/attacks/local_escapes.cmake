# Escapes from a local sandbox to the host (issue 15 items 1, 2, 3, 5) and
# the docker gate socket (item 6).  Each script is the attack; it fails on a
# backend that lets it through.
corral_add_attack_test(local_tty_injection local_tty_injection.sh)
corral_add_attack_test(local_gate_socket_tamper gate_socket_tamper.sh local)
corral_add_attack_test(docker_gate_socket_tamper gate_socket_tamper.sh docker)
corral_add_attack_test(local_keyring local_keyring.sh)
corral_add_attack_test(local_network_full local_network_full.sh)
corral_add_attack_test(local_root_files local_root_files.sh)
