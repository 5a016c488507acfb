build-asan/bpf/process.bpf.o: bpf/process.bpf.c bpf/vmlinux/x86/vmlinux.h \
  include/kansoku/events.h bpf/maps.bpf.h bpf/task.bpf.h \
  bpf/compat.bpf.h bpf/path.bpf.h

bpf/vmlinux/x86/vmlinux.h:

include/kansoku/events.h:

bpf/maps.bpf.h:

bpf/task.bpf.h:

bpf/compat.bpf.h:

bpf/path.bpf.h:
