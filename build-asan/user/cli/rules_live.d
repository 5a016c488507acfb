build-asan/user/cli/rules_live.o: user/cli/rules_live.c \
 user/cli/rules_live.h
user/cli/rules_live.h:
