# The contract suite against the islo and hf fakes under seeded 20% random
# faults (tests/fakes/faults.py: drops after processing, resets, 503s): tests
# may fail, each failure classified, but no command may run twice and nothing
# may be left running (tests/fakes/conformance_fake.sh checks the fake).
foreach(backend islo hf)
  add_test(NAME conformance_${backend}_faults
           COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fakes/conformance_fake.sh ${backend}
                   $<TARGET_FILE:corral-conformance> ${CORRAL_BUILD_PLUGIN_DIR})
  set_tests_properties(conformance_${backend}_faults PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE
                       LABELS "conformance;faults"
                       ENVIRONMENT "CORRAL_FAKE_FAULTS=rate=0.2,seed=22")
endforeach()

# The fault matrix with rollouts (tests/faults/rollout_matrix.sh): real
# `corral run` rollouts of the oracle against each fake, one fault mode at a
# time at a seeded 20% rate; every rollout scores 1 or fails classified, the
# control never scores, no double execution, nothing left on the fake, in
# the registry or on the host.  About a minute for all three backends.
foreach(backend e2b islo hf)
  add_test(NAME faults_rollouts_${backend}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/faults/rollout_matrix.sh ${backend})
  set_tests_properties(faults_rollouts_${backend} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS "faults"
    ENVIRONMENT "CORRAL=$<TARGET_FILE:corral_cli>;CORRAL_BUILD_PLUGIN_DIR=${CORRAL_BUILD_PLUGIN_DIR};SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()

# The fakes' sandbox root confines commands and file APIs (an absolute path
# means the sandbox's file, writes never reach the host, /bin/sh is dash).
find_program(PYTHON3 python3)
if(PYTHON3)
  add_test(NAME fake_sandbox_root COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/test_sandbox_root.py)
  set_tests_properties(fake_sandbox_root PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
