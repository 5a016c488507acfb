build-asan/user/rules/fields.o: user/rules/fields.c user/rules/internal.h \
 user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
