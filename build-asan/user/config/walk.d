build-asan/user/config/walk.o: user/config/walk.c user/config/table.h \
 user/config/config.h user/config/posture_cfg.h user/config/severity.h \
 user/config/rules_cfg.h include/kansoku/events.h
user/config/table.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
