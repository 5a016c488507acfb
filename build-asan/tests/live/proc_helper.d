build-asan/tests/live/proc_helper.o: tests/live/proc_helper.c
