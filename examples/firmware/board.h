/* What the firmware needs of its board: output, its command line, and a way to stop. Here
 * semihosting under QEMU (startup.c); on a real device, a UART and a reset. */
#ifndef FIRMWARE_BOARD_H
#define FIRMWARE_BOARD_H

#include <stdint.h>

void board_print(const char *text);
void board_print_u32(uint32_t value);
/* Copies the command line QEMU was given (-semihosting-config arg=...) into buffer;
 * returns 0 on success. */
int board_command_line(char *buffer, uint32_t len);
/* Ends the run: QEMU exits with status 0, or 1 when failed. */
void board_exit(int failed) __attribute__((noreturn));

#endif
