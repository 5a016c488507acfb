build-asan/user/sensors/process.o: user/sensors/process.c \
 user/pipeline/ocsf.h user/pipeline/pipeline.h user/host/host.h \
 include/kansoku/events.h user/lib/json.h user/sensors/process.h \
 user/model/proctable.h
user/pipeline/ocsf.h:
user/pipeline/pipeline.h:
user/host/host.h:
include/kansoku/events.h:
user/lib/json.h:
user/sensors/process.h:
user/model/proctable.h:
