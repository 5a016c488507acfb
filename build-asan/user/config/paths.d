build-asan/user/config/paths.o: user/config/paths.c user/config/table.h \
 user/config/config.h user/config/posture_cfg.h user/config/severity.h \
 user/config/rules_cfg.h include/kansoku/events.h
user/config/table.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
