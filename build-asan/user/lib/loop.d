build-asan/user/lib/loop.o: user/lib/loop.c user/lib/loop.h
user/lib/loop.h:
