build-asan/user/rules/compile.o: user/rules/compile.c \
 user/rules/compile.h user/rules/internal.h user/rules/rules.h
user/rules/compile.h:
user/rules/internal.h:
user/rules/rules.h:
