build-asan/user/lib/json.o: user/lib/json.c user/lib/json.h
user/lib/json.h:
