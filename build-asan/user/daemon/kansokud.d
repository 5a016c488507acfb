build-asan/user/daemon/kansokud.o: user/daemon/kansokud.c \
 user/config/config.h user/config/posture_cfg.h user/config/severity.h \
 user/config/rules_cfg.h include/kansoku/events.h user/daemon/control.h \
 user/daemon/daemon.h user/sensors/loader.h user/lib/loop.h \
 user/pipeline/pipeline.h user/host/host.h user/lib/json.h \
 user/posture/posture.h user/sensors/file_access.h user/lib/log.h \
 user/lib/time.h user/sensors/net.h user/model/netmodel.h \
 user/pipeline/ocsf.h user/outputs/outputs.h user/sensors/process.h \
 user/model/proctable.h user/daemon/recent.h user/detect/judge.h \
 user/host/users.h
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
user/daemon/control.h:
user/daemon/daemon.h:
user/sensors/loader.h:
user/lib/loop.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/lib/json.h:
user/posture/posture.h:
user/sensors/file_access.h:
user/lib/log.h:
user/lib/time.h:
user/sensors/net.h:
user/model/netmodel.h:
user/pipeline/ocsf.h:
user/outputs/outputs.h:
user/sensors/process.h:
user/model/proctable.h:
user/daemon/recent.h:
user/detect/judge.h:
user/host/users.h:
