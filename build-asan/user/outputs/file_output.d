build-asan/user/outputs/file_output.o: user/outputs/file_output.c \
 user/lib/log.h user/outputs/outputs.h user/config/config.h \
 user/config/posture_cfg.h user/config/severity.h user/config/rules_cfg.h \
 include/kansoku/events.h user/outputs/ecs.h user/lib/json.h
user/lib/log.h:
user/outputs/outputs.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
user/outputs/ecs.h:
user/lib/json.h:
