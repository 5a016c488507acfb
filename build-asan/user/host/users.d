build-asan/user/host/users.o: user/host/users.c user/host/users.h
user/host/users.h:
