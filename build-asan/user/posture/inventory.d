build-asan/user/posture/inventory.o: user/posture/inventory.c \
 user/posture/penv.h user/posture/posture.h user/config/posture_cfg.h \
 user/config/severity.h
user/posture/penv.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
