build-asan/user/daemon/commands.o: user/daemon/commands.c user/lib/time.h \
 user/daemon/control.h user/daemon/daemon.h user/config/config.h \
 user/config/posture_cfg.h user/config/severity.h user/config/rules_cfg.h \
 include/kansoku/events.h user/sensors/loader.h user/lib/loop.h \
 user/pipeline/pipeline.h user/host/host.h user/lib/json.h \
 user/posture/posture.h user/model/netmodel.h user/outputs/outputs.h \
 user/model/proctable.h user/daemon/recent.h user/detect/judge.h \
 user/lib/log.h user/host/users.h
user/lib/time.h:
user/daemon/control.h:
user/daemon/daemon.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
user/sensors/loader.h:
user/lib/loop.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/lib/json.h:
user/posture/posture.h:
user/model/netmodel.h:
user/outputs/outputs.h:
user/model/proctable.h:
user/daemon/recent.h:
user/detect/judge.h:
user/lib/log.h:
user/host/users.h:
