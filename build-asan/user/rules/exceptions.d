build-asan/user/rules/exceptions.o: user/rules/exceptions.c \
 user/rules/compile.h user/rules/internal.h user/rules/rules.h
user/rules/compile.h:
user/rules/internal.h:
user/rules/rules.h:
