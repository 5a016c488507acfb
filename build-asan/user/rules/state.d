build-asan/user/rules/state.o: user/rules/state.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
