/* The built-in posture catalog, embedded so kansokud needs no data file to run. */
	.section .rodata
	.global ks_catalog_builtin
	.global ks_catalog_builtin_end
ks_catalog_builtin:
	.incbin "packaging/posture/catalog.yaml"
ks_catalog_builtin_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
