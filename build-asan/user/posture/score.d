build-asan/user/posture/score.o: user/posture/score.c \
 user/posture/posture.h user/config/posture_cfg.h user/config/severity.h
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
