build-asan/bpf/net.bpf.o: bpf/net.bpf.c bpf/vmlinux/x86/vmlinux.h \
  include/kansoku/events.h bpf/maps.bpf.h bpf/task.bpf.h \
  bpf/compat.bpf.h bpf/path.bpf.h

bpf/vmlinux/x86/vmlinux.h:

include/kansoku/events.h:

bpf/maps.bpf.h:

bpf/task.bpf.h:

bpf/compat.bpf.h:

bpf/path.bpf.h:
