/* The suite's guest programs (guests.inc), amd64: the word and its registers. */
#define xAX %rax
#define xBX %rbx
#define xCX %rcx
#define xDX %rdx
#define xSI %rsi
#define xSP %rsp
#define W 8
#define PUSHW pushq
#define ADDW addq
#define IRETW iretq
#include "guests.inc"
