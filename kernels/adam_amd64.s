//go:build amd64 && !noasm

#include "textflag.h"

// func adamAVX(w, grad, m, v *float32, n int, b1, omb1, b2, omb2, step, isq, eps float32)
// The arithmetic of adamGo, 8 lanes at a time, each operation rounded as
// there (no FMA), so the two agree bit for bit. n is a multiple of 8.
TEXT ·adamAVX(SB), NOSPLIT, $0-68
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS b1+40(FP), Y9
	VBROADCASTSS omb1+44(FP), Y10
	VBROADCASTSS b2+48(FP), Y11
	VBROADCASTSS omb2+52(FP), Y12
	VBROADCASTSS step+56(FP), Y13
	VBROADCASTSS isq+60(FP), Y14
	VBROADCASTSS eps+64(FP), Y15
	XORQ AX, AX
loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (SI)(AX*4), Y0          // g
	VMULPS  (R8)(AX*4), Y9, Y1      // b1·m
	VMULPS  Y0, Y10, Y2             // omb1·g
	VADDPS  Y2, Y1, Y1              // m'
	VMOVUPS Y1, (R8)(AX*4)
	VMULPS  (R9)(AX*4), Y11, Y3     // b2·v
	VMULPS  Y0, Y12, Y4             // omb2·g
	VMULPS  Y0, Y4, Y4              // ·g
	VADDPS  Y4, Y3, Y3              // v'
	VMOVUPS Y3, (R9)(AX*4)
	VSQRTPS Y3, Y3
	VMULPS  Y14, Y3, Y3             // √v'·isq
	VADDPS  Y15, Y3, Y3             // + eps
	VMULPS  Y13, Y1, Y1             // step·m'
	VDIVPS  Y3, Y1, Y1
	VMOVUPS (DI)(AX*4), Y5
	VSUBPS  Y1, Y5, Y5
	VMOVUPS Y5, (DI)(AX*4)
	ADDQ $8, AX
	JMP  loop
done:
	VZEROUPPER
	RET
