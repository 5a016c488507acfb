build-asan/user/host/mntns.o: user/host/mntns.c user/host/mntns.h
user/host/mntns.h:
