//go:build amd64 && !noasm

#include "textflag.h"

// AVX2/FMA versions of vec.go's loops. Each takes n, a multiple of 8
// (rowSumSqAVX: of 16), and leaves the tail to the Go wrapper in
// vec_amd64.go. Per-column float64 sums are updated 4 lanes at a time.

// func addToAVX(d, x *float32, n int)
TEXT ·addToAVX(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
addloop:
	CMPQ AX, CX
	JGE  adddone
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     addloop
adddone:
	VZEROUPPER
	RET

// func rowSumSqAVX(x *float32, n int) (sum, sumsq float64)
TEXT ·rowSumSqAVX(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	XORQ AX, AX
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
ssloop:
	CMPQ AX, CX
	JGE  ssdone
	VCVTPS2PD (SI)(AX*4), Y0
	VCVTPS2PD 16(SI)(AX*4), Y1
	VCVTPS2PD 32(SI)(AX*4), Y2
	VCVTPS2PD 48(SI)(AX*4), Y3
	VADDPD    Y0, Y4, Y4
	VADDPD    Y1, Y5, Y5
	VADDPD    Y2, Y6, Y6
	VADDPD    Y3, Y7, Y7
	VFMADD231PD Y0, Y0, Y8
	VFMADD231PD Y1, Y1, Y9
	VFMADD231PD Y2, Y2, Y10
	VFMADD231PD Y3, Y3, Y11
	ADDQ $16, AX
	JMP  ssloop
ssdone:
	VADDPD Y5, Y4, Y4
	VADDPD Y7, Y6, Y6
	VADDPD Y6, Y4, Y4
	VADDPD Y9, Y8, Y8
	VADDPD Y11, Y10, Y10
	VADDPD Y10, Y8, Y8
	VEXTRACTF128 $1, Y4, X0
	VADDPD X0, X4, X4
	VHADDPD X4, X4, X4
	VEXTRACTF128 $1, Y8, X1
	VADDPD X1, X8, X8
	VHADDPD X8, X8, X8
	VMOVSD X4, sum+16(FP)
	VMOVSD X8, sumsq+24(FP)
	VZEROUPPER
	RET

// func bnAccumAVX(sum, sumsq *float64, x *float32, n int)
TEXT ·bnAccumAVX(SB), NOSPLIT, $0-32
	MOVQ sum+0(FP), DI
	MOVQ sumsq+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX
baloop:
	CMPQ AX, CX
	JGE  badone
	VCVTPS2PD (SI)(AX*4), Y0
	VCVTPS2PD 16(SI)(AX*4), Y1
	VADDPD    (DI)(AX*8), Y0, Y2
	VADDPD    32(DI)(AX*8), Y1, Y3
	VMOVUPD   Y2, (DI)(AX*8)
	VMOVUPD   Y3, 32(DI)(AX*8)
	VMOVUPD   (DX)(AX*8), Y2
	VMOVUPD   32(DX)(AX*8), Y3
	VFMADD231PD Y0, Y0, Y2
	VFMADD231PD Y1, Y1, Y3
	VMOVUPD   Y2, (DX)(AX*8)
	VMOVUPD   Y3, 32(DX)(AX*8)
	ADDQ $8, AX
	JMP  baloop
badone:
	VZEROUPPER
	RET

// func bnApplyAVX(y, x, mean, invstd, gamma, beta *float32, n int, nt bool)
// y = γ·(x−mean)·invstd + β
TEXT ·bnApplyAVX(SB), NOSPLIT, $0-57
	MOVBQZX nt+56(FP), R15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ mean+16(FP), R8
	MOVQ invstd+24(FP), R9
	MOVQ gamma+32(FP), R10
	MOVQ beta+40(FP), R11
	MOVQ n+48(FP), CX
	XORQ AX, AX
aploop:
	CMPQ AX, CX
	JGE  apdone
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  (R8)(AX*4), Y0, Y0
	VMULPS  (R10)(AX*4), Y0, Y0
	VMOVUPS (R9)(AX*4), Y1
	VFMADD213PS (R11)(AX*4), Y1, Y0
	TESTQ R15, R15
	JNZ   ap_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   ap_next
ap_nt:
	VMOVNTPS Y0, (DI)(AX*4)
ap_next:
	ADDQ $8, AX
	JMP  aploop
apdone:
	SFENCE
	VZEROUPPER
	RET

// func bnBackAccumAVX(sdy, sdyx *float64, dy, x, mean, invstd *float32, n int)
// sdy += dy; sdyx += dy·(x−mean)·invstd
TEXT ·bnBackAccumAVX(SB), NOSPLIT, $0-56
	MOVQ sdy+0(FP), DI
	MOVQ sdyx+8(FP), DX
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), R8
	MOVQ mean+32(FP), R9
	MOVQ invstd+40(FP), R10
	MOVQ n+48(FP), CX
	XORQ AX, AX
bbloop:
	CMPQ AX, CX
	JGE  bbdone
	VMOVUPS (SI)(AX*4), Y0          // g
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  (R9)(AX*4), Y1, Y1      // x−m
	VMULPS  Y0, Y1, Y1              // g·(x−m)
	VMULPS  (R10)(AX*4), Y1, Y1     // ·is
	VCVTPS2PD X0, Y2
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD X3, Y3
	VADDPD  (DI)(AX*8), Y2, Y2
	VADDPD  32(DI)(AX*8), Y3, Y3
	VMOVUPD Y2, (DI)(AX*8)
	VMOVUPD Y3, 32(DI)(AX*8)
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD  (DX)(AX*8), Y2, Y2
	VADDPD  32(DX)(AX*8), Y3, Y3
	VMOVUPD Y2, (DX)(AX*8)
	VMOVUPD Y3, 32(DX)(AX*8)
	ADDQ $8, AX
	JMP  bbloop
bbdone:
	VZEROUPPER
	RET

// func bnBackDxAVX(dx, dy, x, mean, invstd, gamma *float32, sdy, sdyx *float64, inv float32, n int, nt bool)
// dx = γ·is·(g − a − x̂·q), a = f32(sdy)·inv, q = f32(sdyx)·inv, x̂ = (x−m)·is
TEXT ·bnBackDxAVX(SB), NOSPLIT, $0-81
	MOVBQZX nt+80(FP), R15
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ mean+24(FP), R9
	MOVQ invstd+32(FP), R10
	MOVQ gamma+40(FP), R11
	MOVQ sdy+48(FP), R12
	MOVQ sdyx+56(FP), R13
	VBROADCASTSS inv+64(FP), Y15
	MOVQ n+72(FP), CX
	XORQ AX, AX
bdloop:
	CMPQ AX, CX
	JGE  bddone
	VCVTPD2PSY (R12)(AX*8), X2
	VCVTPD2PSY 32(R12)(AX*8), X3
	VINSERTF128 $1, X3, Y2, Y2
	VMULPS  Y15, Y2, Y2             // a
	VCVTPD2PSY (R13)(AX*8), X4
	VCVTPD2PSY 32(R13)(AX*8), X5
	VINSERTF128 $1, X5, Y4, Y4
	VMULPS  Y15, Y4, Y4             // q
	VMOVUPS (R10)(AX*4), Y5         // is
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  (R9)(AX*4), Y1, Y1
	VMULPS  Y5, Y1, Y1              // x̂
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  Y2, Y0, Y0              // g − a
	VFNMADD231PS Y4, Y1, Y0         // − x̂·q
	VMULPS  (R11)(AX*4), Y5, Y5     // γ·is
	VMULPS  Y5, Y0, Y0
	TESTQ R15, R15
	JNZ   bd_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   bd_next
bd_nt:
	VMOVNTPS Y0, (DI)(AX*4)
bd_next:
	ADDQ $8, AX
	JMP  bdloop
bddone:
	SFENCE
	VZEROUPPER
	RET

// func lnApplyAVX(y, x, gamma, beta *float32, m, is float32, n int, nt bool)
// y = γ·((x−m)·is) + β
TEXT ·lnApplyAVX(SB), NOSPLIT, $0-49
	MOVBQZX nt+48(FP), R15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	VBROADCASTSS m+32(FP), Y14
	VBROADCASTSS is+36(FP), Y15
	MOVQ n+40(FP), CX
	XORQ AX, AX
laloop:
	CMPQ AX, CX
	JGE  ladone
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  Y14, Y0, Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS (R8)(AX*4), Y1
	VFMADD213PS (R9)(AX*4), Y1, Y0
	TESTQ R15, R15
	JNZ   la_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   la_next
la_nt:
	VMOVNTPS Y0, (DI)(AX*4)
la_next:
	ADDQ $8, AX
	JMP  laloop
ladone:
	SFENCE
	VZEROUPPER
	RET

// func lnBackAccumAVX(dgamma, dbeta, dy, x, gamma *float32, m, is float32, n int) (sg, sgx float64)
// dβ += g; dγ += g·x̂; returns Σγ·g and Σγ·g·x̂ (float64), x̂ = (x−m)·is
TEXT ·lnBackAccumAVX(SB), NOSPLIT, $0-72
	MOVQ dgamma+0(FP), DI
	MOVQ dbeta+8(FP), DX
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), R8
	MOVQ gamma+32(FP), R9
	VBROADCASTSS m+40(FP), Y14
	VBROADCASTSS is+44(FP), Y15
	MOVQ n+48(FP), CX
	XORQ AX, AX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
lbloop:
	CMPQ AX, CX
	JGE  lbdone
	VMOVUPS (SI)(AX*4), Y0          // g
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  Y14, Y1, Y1
	VMULPS  Y15, Y1, Y1             // x̂
	VADDPS  (DX)(AX*4), Y0, Y2
	VMOVUPS Y2, (DX)(AX*4)          // dβ
	VMULPS  Y0, Y1, Y3              // g·x̂
	VADDPS  (DI)(AX*4), Y3, Y3
	VMOVUPS Y3, (DI)(AX*4)          // dγ
	VMULPS  (R9)(AX*4), Y0, Y0      // gg = g·γ
	VMULPS  Y0, Y1, Y1              // gg·x̂
	VCVTPS2PD X0, Y2
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD X3, Y3
	VADDPD  Y2, Y8, Y8
	VADDPD  Y3, Y9, Y9
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD  Y2, Y10, Y10
	VADDPD  Y3, Y11, Y11
	ADDQ $8, AX
	JMP  lbloop
lbdone:
	VADDPD Y9, Y8, Y8
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y8, X0
	VADDPD X0, X8, X8
	VHADDPD X8, X8, X8
	VEXTRACTF128 $1, Y10, X1
	VADDPD X1, X10, X10
	VHADDPD X10, X10, X10
	VMOVSD X8, sg+56(FP)
	VMOVSD X10, sgx+64(FP)
	VZEROUPPER
	RET

// func lnBackDxAVX(dx, dy, x, gamma *float32, m, is, a, q float32, n int, nt bool)
// dx = is·(g·γ − a − x̂·q), x̂ = (x−m)·is
TEXT ·lnBackDxAVX(SB), NOSPLIT, $0-57
	MOVBQZX nt+56(FP), R15
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ gamma+24(FP), R9
	VBROADCASTSS m+32(FP), Y12
	VBROADCASTSS is+36(FP), Y13
	VBROADCASTSS a+40(FP), Y14
	VBROADCASTSS q+44(FP), Y15
	MOVQ n+48(FP), CX
	XORQ AX, AX
ldloop:
	CMPQ AX, CX
	JGE  lddone
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  Y12, Y1, Y1
	VMULPS  Y13, Y1, Y1             // x̂
	VMOVUPS (SI)(AX*4), Y0
	VMULPS  (R9)(AX*4), Y0, Y0      // g·γ
	VSUBPS  Y14, Y0, Y0             // − a
	VFNMADD231PS Y15, Y1, Y0        // − x̂·q
	VMULPS  Y13, Y0, Y0
	TESTQ R15, R15
	JNZ   ld_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   ld_next
ld_nt:
	VMOVNTPS Y0, (DI)(AX*4)
ld_next:
	ADDQ $8, AX
	JMP  ldloop
lddone:
	SFENCE
	VZEROUPPER
	RET

// func reluForwardAVX(y, x *float32, n int)
// y = max(x, 0) with NaN → 0 (MAXPS returns its second source on NaN)
TEXT ·reluForwardAVX(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	VXORPS Y15, Y15, Y15
rfloop:
	CMPQ AX, CX
	JGE  rfdone
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  rfloop
rfdone:
	VZEROUPPER
	RET

// func reluBackwardAVX(dx, y, dy *float32, n int)
// dx = dy where y > 0 (ordered), else 0
TEXT ·reluBackwardAVX(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ dy+16(FP), R8
	MOVQ n+24(FP), CX
	XORQ AX, AX
	VXORPS Y15, Y15, Y15
rbloop:
	CMPQ AX, CX
	JGE  rbdone
	VMOVUPS (SI)(AX*4), Y0
	VCMPPS  $0x1e, Y15, Y0, Y0      // y > 0 (GT_OQ)
	VANDPS  (R8)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  rbloop
rbdone:
	VZEROUPPER
	RET

// func bnAccum4AVX(sum, sumsq *float64, x *float32, stride, n int)
// bnAccum of the four rows x, x+stride, x+2·stride, x+3·stride: the rows
// are summed in registers, so the float64 sums are loaded and stored once
// per four rows.
TEXT ·bnAccum4AVX(SB), NOSPLIT, $0-40
	MOVQ sum+0(FP), DI
	MOVQ sumsq+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ stride+24(FP), R8
	MOVQ n+32(FP), CX
	SHLQ $2, R8                     // stride in bytes
	LEAQ (SI)(R8*2), R9             // row 2
	XORQ AX, AX
b4loop:
	CMPQ AX, CX
	JGE  b4done
	VCVTPS2PD (SI)(AX*4), Y0
	VCVTPS2PD 16(SI)(AX*4), Y1
	LEAQ (SI)(R8*1), R10
	VCVTPS2PD (R10)(AX*4), Y2
	VCVTPS2PD 16(R10)(AX*4), Y3
	VCVTPS2PD (R9)(AX*4), Y4
	VCVTPS2PD 16(R9)(AX*4), Y5
	LEAQ (R9)(R8*1), R10
	VCVTPS2PD (R10)(AX*4), Y6
	VCVTPS2PD 16(R10)(AX*4), Y7
	VMULPD  Y0, Y0, Y8
	VMULPD  Y1, Y1, Y9
	VFMADD231PD Y2, Y2, Y8
	VFMADD231PD Y3, Y3, Y9
	VFMADD231PD Y4, Y4, Y8
	VFMADD231PD Y5, Y5, Y9
	VFMADD231PD Y6, Y6, Y8
	VFMADD231PD Y7, Y7, Y9
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	VADDPD  Y6, Y4, Y4
	VADDPD  Y7, Y5, Y5
	VADDPD  Y4, Y0, Y0
	VADDPD  Y5, Y1, Y1
	VADDPD  (DI)(AX*8), Y0, Y0
	VADDPD  32(DI)(AX*8), Y1, Y1
	VMOVUPD Y0, (DI)(AX*8)
	VMOVUPD Y1, 32(DI)(AX*8)
	VADDPD  (DX)(AX*8), Y8, Y8
	VADDPD  32(DX)(AX*8), Y9, Y9
	VMOVUPD Y8, (DX)(AX*8)
	VMOVUPD Y9, 32(DX)(AX*8)
	ADDQ $8, AX
	JMP  b4loop
b4done:
	VZEROUPPER
	RET

// func bnBackAccum4AVX(sdy, sdyx *float64, dy, x *float32, stride int, mean, invstd *float32, n int)
// bnBackAccum of four rows (dy and x rows stride apart), summed in
// registers before the float64 sums are updated.
TEXT ·bnBackAccum4AVX(SB), NOSPLIT, $0-64
	MOVQ sdy+0(FP), DI
	MOVQ sdyx+8(FP), DX
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), R11
	MOVQ stride+32(FP), R8
	MOVQ mean+40(FP), R12
	MOVQ invstd+48(FP), R13
	MOVQ n+56(FP), CX
	SHLQ $2, R8
	XORQ AX, AX
bb4loop:
	CMPQ AX, CX
	JGE  bb4done
	VMOVUPS (R12)(AX*4), Y14        // mean
	VMOVUPS (R13)(AX*4), Y15        // invstd
	VXORPD  Y8, Y8, Y8              // Σ g lo (f64)
	VXORPD  Y9, Y9, Y9              // Σ g hi
	VXORPD  Y10, Y10, Y10           // Σ g·x̂ lo
	VXORPD  Y11, Y11, Y11           // Σ g·x̂ hi
	MOVQ SI, R9
	MOVQ R11, R10
	MOVQ $4, BX
bb4rows:
	VMOVUPS (R9)(AX*4), Y0          // g
	VMOVUPS (R10)(AX*4), Y1
	VSUBPS  Y14, Y1, Y1
	VMULPS  Y0, Y1, Y1
	VMULPS  Y15, Y1, Y1             // g·(x−m)·is
	VCVTPS2PD X0, Y2
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD X3, Y3
	VADDPD  Y2, Y8, Y8
	VADDPD  Y3, Y9, Y9
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD  Y2, Y10, Y10
	VADDPD  Y3, Y11, Y11
	ADDQ R8, R9
	ADDQ R8, R10
	DECQ BX
	JNZ  bb4rows
	VADDPD  (DI)(AX*8), Y8, Y8
	VADDPD  32(DI)(AX*8), Y9, Y9
	VMOVUPD Y8, (DI)(AX*8)
	VMOVUPD Y9, 32(DI)(AX*8)
	VADDPD  (DX)(AX*8), Y10, Y10
	VADDPD  32(DX)(AX*8), Y11, Y11
	VMOVUPD Y10, (DX)(AX*8)
	VMOVUPD Y11, 32(DX)(AX*8)
	ADDQ $8, AX
	JMP  bb4loop
bb4done:
	VZEROUPPER
	RET

// func cpuRelax()
TEXT ·cpuRelax(SB), NOSPLIT, $0-0
	PAUSE
	PAUSE
	PAUSE
	PAUSE
	RET
