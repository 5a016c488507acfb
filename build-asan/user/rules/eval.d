build-asan/user/rules/eval.o: user/rules/eval.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
