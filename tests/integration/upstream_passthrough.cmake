# A same-dialect (Anthropic Messages) upstream behind `corral gate serve`, against tests/fakes/fake_anthropic.py.
corral_add_cli_test(upstream_passthrough upstream_passthrough.sh)
set_tests_properties(upstream_passthrough PROPERTIES TIMEOUT 120)
# The real Claude Code CLI through a same-dialect Messages upstream (the fake), local sandbox.
corral_add_cli_test(upstream_passthrough_cc_local upstream_passthrough_cc.sh local)
set_tests_properties(upstream_passthrough_cc_local PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)
