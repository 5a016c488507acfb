build-asan/user/posture/engine.o: user/posture/engine.c \
 user/posture/checks.h user/posture/posture.h user/config/posture_cfg.h \
 user/config/severity.h user/lib/hash.h user/lib/log.h \
 user/model/netmodel.h include/kansoku/events.h user/pipeline/ocsf.h \
 user/pipeline/pipeline.h user/host/host.h user/lib/json.h \
 user/model/proctable.h user/posture/penv.h
user/posture/checks.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/lib/hash.h:
user/lib/log.h:
user/model/netmodel.h:
include/kansoku/events.h:
user/pipeline/ocsf.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/lib/json.h:
user/model/proctable.h:
user/posture/penv.h:
