build-asan/user/rules/engine.o: user/rules/engine.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
