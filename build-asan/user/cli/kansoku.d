build-asan/user/cli/kansoku.o: user/cli/kansoku.c user/cli/policy_cmd.h \
 user/cli/rules_cmd.h user/cli/rules_live.h
user/cli/policy_cmd.h:
user/cli/rules_cmd.h:
user/cli/rules_live.h:
