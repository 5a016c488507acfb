build-asan/user/outputs/queue.o: user/outputs/queue.c \
 user/outputs/queue.h
user/outputs/queue.h:
