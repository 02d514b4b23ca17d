/* Reset and fault handling for the Cortex-M4, and output through semihosting (the debugger
 * channel QEMU implements: `bkpt 0xAB`), so the firmware needs no UART driver. */
#include "board.h"

#include <stdint.h>

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;

int main(void);

/* Semihosting operations (Arm's "Semihosting for AArch32 and AArch64"). */
#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023

static int semihost(int operation, void *argument) {
    register int r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_print(const char *text) { semihost(SYS_WRITE0, (void *)text); }

void board_print_u32(uint32_t value) {
    char digits[11];
    int at = 10;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    board_print(&digits[at]);
}

int board_command_line(char *buffer, uint32_t len) {
    uint32_t block[2] = {(uint32_t)(uintptr_t)buffer, len};
    return semihost(SYS_GET_CMDLINE, block) == 0 ? 0 : -1;
}

void board_exit(int failed) {
    semihost(SYS_EXIT, (void *)(uintptr_t)(failed ? ADP_STOPPED_RUN_TIME_ERROR
                                                   : ADP_STOPPED_APPLICATION_EXIT));
    for (;;) {
    }
}

/* A fault is a bug: an engine panic ends in `udf` (see ffi/src/panic.rs), which lands here. */
static void fault_handler(void) {
    board_print("firmware: hard fault (an engine panic or a bad access)\n");
    board_exit(1);
}

void reset_handler(void) {
    uint32_t *from = &__data_load;
    uint32_t *to = &__data_start;
    while (to < &__data_end) {
        *to++ = *from++;
    }
    for (to = &__bss_start; to < &__bss_end; to++) {
        *to = 0;
    }
    /* The library is built for the hard-float ABI: turn on the FPU (CP10 and CP11) before
     * any code that may use it. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb");
    board_exit(main() != 0);
}

/* The vector table: initial stack pointer, reset, then the faults (NMI through usage). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
};
