build-asan/user/posture/env.o: user/posture/env.c user/posture/penv.h \
 user/posture/posture.h user/config/posture_cfg.h user/config/severity.h
user/posture/penv.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
