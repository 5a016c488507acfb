build-asan/user/rules/load.o: user/rules/load.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
