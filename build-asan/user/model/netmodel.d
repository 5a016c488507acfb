build-asan/user/model/netmodel.o: user/model/netmodel.c user/lib/hash.h \
 user/lib/json.h user/model/netmodel.h include/kansoku/events.h
user/lib/hash.h:
user/lib/json.h:
user/model/netmodel.h:
include/kansoku/events.h:
