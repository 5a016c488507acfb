build-asan/user/outputs/tls.o: user/outputs/tls.c user/outputs/tls.h \
 user/config/config.h user/config/posture_cfg.h user/config/severity.h \
 user/config/rules_cfg.h include/kansoku/events.h
user/outputs/tls.h:
user/config/config.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/config/rules_cfg.h:
include/kansoku/events.h:
