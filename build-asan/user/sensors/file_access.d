build-asan/user/sensors/file_access.o: user/sensors/file_access.c \
 user/lib/time.h user/sensors/file_access.h include/kansoku/events.h \
 user/pipeline/pipeline.h user/host/host.h user/lib/json.h \
 user/host/mntns.h user/pipeline/ocsf.h user/model/proctable.h \
 user/sensors/watch.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h
user/lib/time.h:
user/sensors/file_access.h:
include/kansoku/events.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/lib/json.h:
user/host/mntns.h:
user/pipeline/ocsf.h:
user/model/proctable.h:
user/sensors/watch.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
