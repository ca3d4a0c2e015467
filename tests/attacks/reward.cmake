# Reward integrity (issue 15, items 7-11): oracle tasks whose solve.sh
# attacks the verification, each with a control that scores 0.  The
# same-sandbox runs check what protects verification there (items 7-9,
# 11); the default runs the fresh verifier sandbox (item 10).  A root
# agent replacing bash is only beaten by the fresh sandbox.
foreach(backend local docker)
  foreach(attack planted_tests home_pth logs_not_dir lingering_process)
    corral_add_attack_test(reward_${attack}_${backend} reward.sh ${backend} ${attack} same)
    corral_add_attack_test(reward_${attack}_fresh_${backend} reward.sh ${backend} ${attack})
  endforeach()
  corral_add_attack_test(reward_replaced_bash_${backend} reward.sh ${backend} replaced_bash)
endforeach()
