/* The preload's dlsym (x86-64). glibc's dlsym identifies the caller of dlsym(RTLD_NEXT, ...)
   by its return address, so RTLD_NEXT lookups must reach it with the caller's return address:
   they jump (not call) to the real dlsym. Every other lookup goes to gpumem_dlsym_override,
   which returns the preload's wrappers for the driver functions it interposes. */
    .text
    .globl  dlsym
    .type   dlsym, @function
dlsym:
    .cfi_startproc
    cmpq    $-1, %rdi                       /* RTLD_NEXT is ((void *) -1l) */
    jne     gpumem_dlsym_override
    movq    gpumem_real_dlsym_pointer(%rip), %rax
    testq   %rax, %rax
    jz      1f
    jmp     *%rax
1:  /* Not resolved yet (a lookup before anything else): resolve, keeping the arguments. */
    pushq   %rdi
    .cfi_adjust_cfa_offset 8
    pushq   %rsi
    .cfi_adjust_cfa_offset 8
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    call    gpumem_resolve_real_dlsym
    addq    $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq    %rsi
    .cfi_adjust_cfa_offset -8
    popq    %rdi
    .cfi_adjust_cfa_offset -8
    jmp     *%rax
    .cfi_endproc
    .size   dlsym, .-dlsym
    .section .note.GNU-stack,"",@progbits
