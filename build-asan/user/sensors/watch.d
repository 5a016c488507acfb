build-asan/user/sensors/watch.o: user/sensors/watch.c user/lib/log.h \
 user/sensors/watch.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h include/kansoku/events.h
user/lib/log.h:
user/sensors/watch.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
