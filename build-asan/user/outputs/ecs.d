build-asan/user/outputs/ecs.o: user/outputs/ecs.c user/outputs/ecs.h \
 user/lib/json.h
user/outputs/ecs.h:
user/lib/json.h:
