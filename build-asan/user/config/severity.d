build-asan/user/config/severity.o: user/config/severity.c \
 user/config/severity.h
user/config/severity.h:
