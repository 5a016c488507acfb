build-asan/user/posture/check_accounts.o: user/posture/check_accounts.c \
 user/posture/checks.h user/posture/posture.h user/config/posture_cfg.h \
 user/config/severity.h user/posture/penv.h
user/posture/checks.h:
user/posture/posture.h:
user/config/posture_cfg.h:
user/config/severity.h:
user/posture/penv.h:
