# Bad input and data safety (issue 15 items 4, 18-22): task files, input
# files, numbers, persist targets.
foreach(backend local docker)
  corral_add_attack_test(task_files_${backend} input_task_files.sh ${backend})
endforeach()
foreach(backend local docker)
  corral_add_attack_test(numbers_${backend} input_numbers.sh ${backend})
endforeach()
foreach(backend local docker)
  corral_add_attack_test(persist_${backend} input_persist.sh ${backend})
endforeach()
corral_add_attack_test(state_dir_local input_state_dir.sh)
