build-asan/user/posture/check_files.o: user/posture/check_files.c \
 user/posture/checks.h user/posture/posture.h user/config/posture_cfg.h \
 user/config/severity.h user/posture/penv.h
user/posture/checks.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/posture/penv.h:
