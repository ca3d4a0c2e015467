# Reward integrity (issue 15, items 7-11): oracle tasks whose solve.sh
# attacks the verification, each with a control that scores 0.
foreach(backend local docker)
  foreach(attack planted_tests home_pth logs_not_dir lingering_process)
    corral_add_attack_test(reward_${attack}_${backend} reward.sh ${backend} ${attack})
  endforeach()
endforeach()
