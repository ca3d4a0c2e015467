# Lifetimes and leaks (issue 15 items 15-17): sandboxes end at their
# deadline whatever runs inside, die with a killed rollout, gate dirs of a
# dead corral are collected, and local enforces a disk limit.
corral_add_attack_test(local_ttl_kills_namespace lifetime_ttl.sh)
corral_add_attack_test(local_killed_run_leaves_nothing lifetime_killed_run.sh local)
corral_add_attack_test(local_storage_limit lifetime_storage.sh)
corral_add_attack_test(docker_killed_run_leaves_nothing lifetime_killed_run.sh docker)
