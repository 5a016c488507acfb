build-asan/user/rules/policy_values.o: user/rules/policy_values.c \
 user/rules/policy_int.h user/rules/compile.h user/rules/internal.h \
 user/rules/rules.h
user/rules/policy_int.h:
user/rules/compile.h:
user/rules/internal.h:
user/rules/rules.h:
