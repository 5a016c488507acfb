build-asan/user/host/host.o: user/host/host.c user/lib/time.h \
 user/host/host.h
user/lib/time.h:
user/host/host.h:
