build-asan/user/pipeline/ocsf.o: user/pipeline/ocsf.c user/lib/hash.h \
 user/pipeline/ocsf.h user/pipeline/pipeline.h user/host/host.h \
 include/kansoku/events.h user/lib/json.h user/model/proctable.h \
 user/host/users.h
user/lib/hash.h:
user/pipeline/ocsf.h:
user/pipeline/pipeline.h:
user/host/host.h:
include/kansoku/events.h:
user/lib/json.h:
user/model/proctable.h:
user/host/users.h:
