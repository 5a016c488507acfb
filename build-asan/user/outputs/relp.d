build-asan/user/outputs/relp.o: user/outputs/relp.c user/lib/log.h \
 user/outputs/netout.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h include/kansoku/events.h \
 user/lib/json.h user/outputs/outputs.h user/outputs/ecs.h \
 user/outputs/queue.h user/outputs/tls.h
user/lib/log.h:
user/outputs/netout.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
user/lib/json.h:
user/outputs/outputs.h:
user/outputs/ecs.h:
user/outputs/queue.h:
user/outputs/tls.h:
