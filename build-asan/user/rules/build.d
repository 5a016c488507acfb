build-asan/user/rules/build.o: user/rules/build.c user/rules/compile.h \
 user/rules/internal.h user/rules/rules.h
user/rules/compile.h:
user/rules/internal.h:
user/rules/rules.h:
