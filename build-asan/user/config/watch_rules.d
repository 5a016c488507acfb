build-asan/user/config/watch_rules.o: user/config/watch_rules.c \
 user/config/table.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h include/kansoku/events.h
user/config/table.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
