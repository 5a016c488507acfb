build-asan/user/detect/judge.o: user/detect/judge.c user/host/users.h \
 user/detect/judge_int.h user/lib/json.h user/lib/time.h \
 user/model/netmodel.h include/kansoku/events.h user/model/proctable.h \
 user/detect/judge.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h user/pipeline/pipeline.h \
 user/host/host.h user/rules/rules.h user/lib/log.h user/pipeline/ocsf.h
user/host/users.h:
user/detect/judge_int.h:
user/lib/json.h:
user/lib/time.h:
user/model/netmodel.h:
include/kansoku/events.h:
user/model/proctable.h:
user/detect/judge.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
user/pipeline/pipeline.h:
user/host/host.h:
user/rules/rules.h:
user/lib/log.h:
user/pipeline/ocsf.h:
