# A same-dialect (Anthropic Messages) upstream behind `corral gate serve`, against tests/fakes/fake_anthropic.py.
corral_add_cli_test(upstream_passthrough upstream_passthrough.sh)
set_tests_properties(upstream_passthrough PROPERTIES TIMEOUT 120)
