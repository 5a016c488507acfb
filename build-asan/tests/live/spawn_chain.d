build-asan/tests/live/spawn_chain.o: tests/live/spawn_chain.c
