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
