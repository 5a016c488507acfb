build-asan/user/rules/offline.o: user/rules/offline.c \
 user/rules/offline.h user/rules/rules.h
user/rules/offline.h:
user/rules/rules.h:
