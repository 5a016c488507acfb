build-asan/user/daemon/control.o: user/daemon/control.c \
 user/daemon/control.h user/lib/log.h user/lib/loop.h
user/daemon/control.h:
user/lib/log.h:
user/lib/loop.h:
