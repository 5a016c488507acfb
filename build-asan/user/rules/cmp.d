build-asan/user/rules/cmp.o: user/rules/cmp.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
