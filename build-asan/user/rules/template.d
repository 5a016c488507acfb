build-asan/user/rules/template.o: user/rules/template.c \
 user/rules/internal.h user/rules/rules.h
user/rules/internal.h:
user/rules/rules.h:
