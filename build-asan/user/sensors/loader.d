build-asan/user/sensors/loader.o: user/sensors/loader.c user/lib/time.h \
 user/host/host.h user/sensors/loader.h user/config/config.h \
 user/config/posture_cfg.h user/config/severity.h user/config/rules_cfg.h \
 include/kansoku/events.h user/lib/log.h user/sensors/watch.h \
 build-asan/kansoku.skel.h
user/lib/time.h:
user/host/host.h:
user/sensors/loader.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
user/lib/log.h:
user/sensors/watch.h:
build-asan/kansoku.skel.h:
