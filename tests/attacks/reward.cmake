# Reward integrity (issue 15, items 7-11): oracle tasks whose solve.sh
# attacks the verification, each with a control that scores 0.  The
# same-sandbox runs check what protects verification there (items 7-9,
# 11); the default runs the fresh verifier sandbox (item 10).  A root
# agent replacing bash is only beaten by the fresh sandbox.
foreach(backend local docker)
  set(attacks planted_tests logs_not_dir lingering_process)
  if(backend STREQUAL local)
    # A python .pth needs python3 in the image: the host's for local; the
    # docker test image (tests/docker/make-agent-image.sh) has none.
    list(APPEND attacks home_pth)
  endif()
  foreach(attack ${attacks})
    corral_add_attack_test(reward_${attack}_${backend} reward.sh ${backend} ${attack} same)
    corral_add_attack_test(reward_${attack}_fresh_${backend} reward.sh ${backend} ${attack})
  endforeach()
  corral_add_attack_test(reward_replaced_bash_${backend} reward.sh ${backend} replaced_bash)
endforeach()
