build-asan/user/cli/policy_learn.o: user/cli/policy_learn.c \
 user/cli/policy_cmd.h user/rules/rules.h
user/cli/policy_cmd.h:
user/rules/rules.h:
