build-asan/user/rules/util.o: user/rules/util.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
