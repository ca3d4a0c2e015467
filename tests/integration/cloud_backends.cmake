# Cloud backend tests through the CLI against their fakes, named after the
# backend (the older ones are in CMakeLists.txt: cloud_gc, cloud_rollout).
corral_add_cli_test(islo_gc_killed_create cloud_islo_gc.sh)
set_tests_properties(islo_gc_killed_create PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
# Issue 22 item 7, on each cloud backend.
foreach(b e2b islo hf)
  corral_add_cli_test(${b}_exec_files cloud_exec_files.sh ${b})
  set_tests_properties(${b}_exec_files PROPERTIES TIMEOUT 300)
endforeach()
# Issue 22 item 11: exit statuses on islo, e2b and hf.
corral_add_cli_test(islo_e2b_hf_exit_status cloud_exit_status.sh)
set_tests_properties(islo_e2b_hf_exit_status PROPERTIES TIMEOUT 300)
# Issue 19: --retries of an injected infrastructure fault, on the e2b fake.
corral_add_cli_test(batch_retries_e2b batch_retries.sh)
set_tests_properties(batch_retries_e2b PROPERTIES TIMEOUT 300)
# Issue 20: corral sandbox create --egress on hf (refused, nothing made).
corral_add_cli_test(egress_sandbox_cloud egress_sandbox_cloud.sh)
set_tests_properties(egress_sandbox_cloud PROPERTIES TIMEOUT 300)
