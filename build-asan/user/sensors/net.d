build-asan/user/sensors/net.o: user/sensors/net.c user/lib/time.h \
 user/lib/hash.h user/lib/json.h user/model/netmodel.h \
 include/kansoku/events.h user/sensors/net.h user/pipeline/pipeline.h \
 user/host/host.h user/pipeline/ocsf.h user/model/proctable.h
user/lib/time.h:
user/lib/hash.h:
user/lib/json.h:
user/model/netmodel.h:
include/kansoku/events.h:
user/sensors/net.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/pipeline/ocsf.h:
user/model/proctable.h:
