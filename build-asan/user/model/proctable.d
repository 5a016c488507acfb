build-asan/user/model/proctable.o: user/model/proctable.c user/lib/hash.h \
 user/lib/json.h user/model/proctable.h include/kansoku/events.h
user/lib/hash.h:
user/lib/json.h:
user/model/proctable.h:
include/kansoku/events.h:
