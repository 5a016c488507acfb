build-asan/user/posture/catalog.o: user/posture/catalog.c \
 user/posture/checks.h user/posture/posture.h user/config/posture_cfg.h \
 user/config/severity.h user/posture/penv.h
user/posture/checks.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/posture/penv.h:
