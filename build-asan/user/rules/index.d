build-asan/user/rules/index.o: user/rules/index.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
