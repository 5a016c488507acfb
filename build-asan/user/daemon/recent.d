build-asan/user/daemon/recent.o: user/daemon/recent.c \
 user/daemon/recent.h
user/daemon/recent.h:
