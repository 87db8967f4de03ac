/* The suite's guest programs (guests.inc), i386: the word and its registers. */
#define xAX %eax
#define xBX %ebx
#define xCX %ecx
#define xDX %edx
#define xSI %esi
#define xSP %esp
#define W 4
#define PUSHW pushl
#define ADDW addl
#define IRETW iret
#include "guests.inc"
