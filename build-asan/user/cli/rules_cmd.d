build-asan/user/cli/rules_cmd.o: user/cli/rules_cmd.c \
 user/cli/rules_cmd.h user/rules/offline.h user/rules/rules.h \
 user/rules/rules.h
user/cli/rules_cmd.h:
user/rules/offline.h:
user/rules/rules.h:
user/rules/rules.h:
