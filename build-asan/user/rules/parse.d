build-asan/user/rules/parse.o: user/rules/parse.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
