	.section .rodata
ks_rules_text_0:
	.incbin "packaging/rules/default.yaml"
	.byte 0
ks_rules_name_0:
	.asciz "builtin:default.yaml"
	.section .data.rel.ro
	.balign 8
	.global ks_rules_builtin
ks_rules_builtin:
	.quad ks_rules_name_0, ks_rules_text_0
	.quad 0, 0
	.section .note.GNU-stack,"",@progbits
