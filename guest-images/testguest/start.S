/* Test guest entry: PVH (xen/include/public/arch-x86/hvm/start_info.h).
 * We arrive in 32-bit protected mode, paging off, %ebx = hvm_start_info.
 * Build an identity map of the low 64 GiB (1 GiB or 2 MiB pages), enter long mode
 * (Intel SDM vol. 3 §10.8.5) and call guest_main(start_info). */

#define NPD 64              /* page directories: 64 x 1 GiB (Kata's -m maxmem puts 64-bit BARs past 16 GiB) */

	.section .note.pvh, "a", @note
	.balign 4
	.long 4                 /* namesz: "Xen\0" */
	.long 4                 /* descsz */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start32          /* physical entry point */

	.section .text.entry, "ax"
	.code32
	.globl _start32
_start32:
	cli
	movl %ebx, %esi                 /* keep start_info */
	movl $stack_top, %esp

	/* PML4[0] -> PDPT.  With 1 GiB pages (CPUID 0x80000001 EDX bit 26)
	 * the PDPT maps everything in 16 entries; else PDPT[i] -> PD i with
	 * 2 MiB pages.  Fewer stores matter: on hosts without VMX/SVM every
	 * instruction here is emulated. */
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, pml4
	movl $0x80000001, %eax
	cpuid
	btl $26, %edx
	jnc 5f
	xorl %ecx, %ecx
6:	movl %ecx, %eax
	shll $30, %eax
	orl $0x83, %eax                 /* present, writable, 1 GiB page */
	movl %eax, pdpt(,%ecx,8)
	movl %ecx, %eax
	shrl $2, %eax
	movl %eax, pdpt+4(,%ecx,8)
	incl %ecx
	cmpl $NPD, %ecx
	jb 6b
	jmp 7f
5:	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $pd, %eax
	orl $3, %eax
	movl %eax, pdpt(,%ecx,8)
	incl %ecx
	cmpl $NPD, %ecx
	jb 1b
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax                 /* present, writable, 2 MiB page */
	movl %eax, pd(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax                  /* bits 32+ of the frame address */
	movl %eax, pd+4(,%ecx,8)
	incl %ecx
	cmpl $(NPD * 512), %ecx
	jb 2b
7:
	movl %cr4, %eax
	orl $0x20, %eax                 /* CR4.PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	orl $0x100, %eax                /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $long_entry

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	movl %esi, %edi                 /* guest_main(start_info) */
	call guest_main
3:	cli
	hlt
	jmp 3b

/* vCPU hot-plug (cpuhp.c): an AP started by SIPI arrives in real mode
 * at the page the BSP copied [ap_tramp_start, ap_tramp_end) to (below
 * 1 MiB), CS = that page's segment, IP 0.  Load the GDT (its descriptor
 * is copied along, addressed through DS = CS), enter protected mode
 * through the 32-bit code segment, then long mode as _start32 does, on
 * the same page tables; run ap_main() on the stack the BSP set. */
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_tramp_gdtdesc - ap_tramp_start
	movl %cr0, %eax
	orl $1, %eax                    /* PE */
	movl %eax, %cr0
	ljmpl $0x18, $ap_entry32
	.balign 8
ap_tramp_gdtdesc:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.code32
ap_entry32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax                 /* CR4.PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	orl $0x100, %eax                /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	movl %eax, %cr0
	ljmp $0x08, $ap_long

	.code64
ap_long:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq ap_stack_top(%rip), %rsp
	call ap_main
9:	cli
	hlt
	jmp 9b

/* IRQ0 (vector 0x20): count the tick, EOI the master 8259. */
	.globl irq0_stub
irq0_stub:
	pushq %rax
	lock incq pit_ticks(%rip)
	movb $0x20, %al
	outb %al, $0x20
	popq %rax
	iretq

/* Other 8259 vectors: EOI both controllers (a spurious IRQ7/15 needs
 * none, but an extra EOI to an idle 8259 is harmless). */
	.globl irq_other_stub
irq_other_stub:
	pushq %rax
	movb $0x20, %al
	outb %al, $0xa0
	outb %al, $0x20
	popq %rax
	iretq

/* A CPU exception means the guest is broken: report and end. */
	.globl exc_stub
exc_stub:
	movw $0x3f8, %dx
	movb $'!', %al
	outb %al, %dx
	movl $0x7e, %eax                /* debug-exit status (0x7e<<1)|1 */
	outl %eax, $0xf4
4:	cli
	hlt
	jmp 4b

/* irq.c's vectors: 256 stubs 16 bytes apart, each pushes its vector
 * and calls irq_vector(vector) with the caller-saved registers kept and
 * the stack 16-byte aligned.  No CPU exception an interrupt can land on
 * returns (irq_vector ends the guest below 32), so no error code needs
 * popping. */
	.balign 16
	.globl irq_vector_stubs
irq_vector_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	pushq $vec
	jmp irq_vector_common
	.set vec, vec + 1
	.endr

irq_vector_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbp
	movq %rsp, %rbp
	movq 80(%rsp), %rdi             /* the vector */
	andq $-16, %rsp
	cld
	call irq_vector
	movq %rbp, %rsp
	popq %rbp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp                   /* the vector */
	iretq

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
	.quad 0x00cf9a000000ffff        /* 0x18: 32-bit code (AP start-up) */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096 * NPD
stack:	.skip 16384
stack_top:
