build-asan/user/outputs/outputs.o: user/outputs/outputs.c \
 user/outputs/outputs.h user/config/config.h user/config/posture_cfg.h \
 user/config/severity.h user/config/rules_cfg.h include/kansoku/events.h
user/outputs/outputs.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
