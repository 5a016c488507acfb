build-asan/user/lib/log.o: user/lib/log.c user/lib/log.h
user/lib/log.h:
