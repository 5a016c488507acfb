build-asan/user/pipeline/pipeline.o: user/pipeline/pipeline.c \
 user/pipeline/pipeline.h user/host/host.h include/kansoku/events.h \
 user/lib/json.h
user/pipeline/pipeline.h:
user/host/host.h:
include/kansoku/events.h:
user/lib/json.h:
