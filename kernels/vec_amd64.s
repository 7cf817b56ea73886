//go:build amd64 && !noasm

#include "textflag.h"

// GN_STATS4 finishes four groups' statistics: the parked sums (Σx of
// groups a–d in Y12 and Y14, Σx² in Y13 and Y15, two lanes each) become
// X0 = their means and X1 = 1/√(variance+eps) as float32, with m (fm+40)
// values per group, eps at eps+48 and 1.0 at 0(SP). Clobbers Y0–Y3.
#define GN_STATS4 \
	VHADDPD Y14, Y12, Y0; \
	VHADDPD Y15, Y13, Y1; \
	VPERMPD $0xd8, Y0, Y0; \
	VPERMPD $0xd8, Y1, Y1; \
	VBROADCASTSD fm+40(FP), Y2; \
	VDIVPD  Y2, Y0, Y0; \
	VDIVPD  Y2, Y1, Y1; \
	VMULPD  Y0, Y0, Y3; \
	VSUBPD  Y3, Y1, Y1; \
	VXORPD  Y3, Y3, Y3; \
	VMAXPD  Y1, Y3, Y1; \
	VBROADCASTSD eps+48(FP), Y2; \
	VADDPD  Y2, Y1, Y1; \
	VSQRTPD Y1, Y1; \
	VBROADCASTSD 0(SP), Y2; \
	VDIVPD  Y1, Y2, Y1; \
	VCVTPD2PSY Y0, X0; \
	VCVTPD2PSY Y1, X1

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

// The float64 sums of x and x² that rowSumSqAVX and gnStatsAVX share, so
// that a GroupNorm group of a multiple of 16 values gets a LayerNorm row's
// sums bit for bit: SUMSQ_ZERO clears the accumulators (Σx in Y4–Y7, Σx²
// in Y8–Y11); SUMSQ16 adds the 16 values at (SI)(AX*4) (clobbers Y0–Y3);
// SUMSQ_FOLD leaves Σx in X4 and Σx² in X8, two lanes each (clobbers X0,
// X1).
#define SUMSQ_ZERO \
	VXORPD Y4, Y4, Y4; \
	VXORPD Y5, Y5, Y5; \
	VXORPD Y6, Y6, Y6; \
	VXORPD Y7, Y7, Y7; \
	VXORPD Y8, Y8, Y8; \
	VXORPD Y9, Y9, Y9; \
	VXORPD Y10, Y10, Y10; \
	VXORPD Y11, Y11, Y11

#define SUMSQ16 \
	VCVTPS2PD (SI)(AX*4), Y0; \
	VCVTPS2PD 16(SI)(AX*4), Y1; \
	VCVTPS2PD 32(SI)(AX*4), Y2; \
	VCVTPS2PD 48(SI)(AX*4), Y3; \
	VADDPD    Y0, Y4, Y4; \
	VADDPD    Y1, Y5, Y5; \
	VADDPD    Y2, Y6, Y6; \
	VADDPD    Y3, Y7, Y7; \
	VFMADD231PD Y0, Y0, Y8; \
	VFMADD231PD Y1, Y1, Y9; \
	VFMADD231PD Y2, Y2, Y10; \
	VFMADD231PD Y3, Y3, Y11

#define SUMSQ_FOLD \
	VADDPD Y5, Y4, Y4; \
	VADDPD Y7, Y6, Y6; \
	VADDPD Y6, Y4, Y4; \
	VADDPD Y9, Y8, Y8; \
	VADDPD Y11, Y10, Y10; \
	VADDPD Y10, Y8, Y8; \
	VEXTRACTF128 $1, Y4, X0; \
	VADDPD X0, X4, X4; \
	VEXTRACTF128 $1, Y8, X1; \
	VADDPD X1, X8, X8

// func rowSumSqAVX(x *float32, n int) (sum, sumsq float64)
TEXT ·rowSumSqAVX(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	XORQ AX, AX
	SUMSQ_ZERO
ssloop:
	CMPQ AX, CX
	JGE  ssdone
	SUMSQ16
	ADDQ $16, AX
	JMP  ssloop
ssdone:
	SUMSQ_FOLD
	VHADDPD X4, X4, X4
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

// LN_BACK_DX8(x, g, ga, m, is, a, q) is one vector of LayerNorm's dx at
// element AX, left in Y0: is·(g·γ − a − x̂·q), x̂ = (x−m)·is, from the rows
// at x, g (dy) and ga (γ) and the broadcast m, is, a, q. Clobbers Y1.
// lnBackDxAVX and gnBackAVX share it.
#define LN_BACK_DX8(x, g, ga, m, is, a, q) \
	VMOVUPS (x)(AX*4), Y1; \
	VSUBPS  m, Y1, Y1; \
	VMULPS  is, Y1, Y1; \
	VMOVUPS (g)(AX*4), Y0; \
	VMULPS  (ga)(AX*4), Y0, Y0; \
	VSUBPS  a, Y0, Y0; \
	VFNMADD231PS q, Y1, Y0; \
	VMULPS  is, Y0, Y0

// LN_BACK_SUMS8(g, x, db, dg, ga) is one vector of LayerNorm's backward
// sums at element AX of the rows at g (dy), x, db (dβ), dg (dγ) and ga
// (γ), with m in Y14 and is in Y15: x̂ = (x−m)·is; dβ += g; dγ += g·x̂;
// gg = g·γ and gg·x̂ widened to float64 and added to Y8:Y9 and Y10:Y11.
// Clobbers Y0–Y3. lnBackAccumAVX and gnBackAVX share it.
#define LN_BACK_SUMS8(g, x, db, dg, ga) \
	VMOVUPS (g)(AX*4), Y0; \
	VMOVUPS (x)(AX*4), Y1; \
	VSUBPS  Y14, Y1, Y1; \
	VMULPS  Y15, Y1, Y1; \
	VADDPS  (db)(AX*4), Y0, Y2; \
	VMOVUPS Y2, (db)(AX*4); \
	VMULPS  Y0, Y1, Y3; \
	VADDPS  (dg)(AX*4), Y3, Y3; \
	VMOVUPS Y3, (dg)(AX*4); \
	VMULPS  (ga)(AX*4), Y0, Y0; \
	VMULPS  Y0, Y1, Y1; \
	VCVTPS2PD X0, Y2; \
	VEXTRACTF128 $1, Y0, X3; \
	VCVTPS2PD X3, Y3; \
	VADDPD  Y2, Y8, Y8; \
	VADDPD  Y3, Y9, Y9; \
	VCVTPS2PD X1, Y2; \
	VEXTRACTF128 $1, Y1, X3; \
	VCVTPS2PD X3, Y3; \
	VADDPD  Y2, Y10, Y10; \
	VADDPD  Y3, Y11, Y11

// LN_BACK_SUMS_REDUCE folds LN_BACK_SUMS8's accumulators: X8 = Σγ·g,
// X10 = Σγ·g·x̂ (float64, in the low lane).
#define LN_BACK_SUMS_REDUCE \
	VADDPD Y9, Y8, Y8; \
	VADDPD Y11, Y10, Y10; \
	VEXTRACTF128 $1, Y8, X0; \
	VADDPD X0, X8, X8; \
	VHADDPD X8, X8, X8; \
	VEXTRACTF128 $1, Y10, X1; \
	VADDPD X1, X10, X10; \
	VHADDPD X10, X10, X10

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
	LN_BACK_SUMS8(SI, R8, DX, DI, R9)
	ADDQ $8, AX
	JMP  lbloop
lbdone:
	LN_BACK_SUMS_REDUCE
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
	LN_BACK_DX8(R8, SI, R9, Y12, Y13, Y14, Y15)
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

// func rmsApplyAVX(y, x, gamma *float32, r float32, n int, nt bool)
// y = γ·(x·r)
TEXT ·rmsApplyAVX(SB), NOSPLIT, $0-41
	MOVBQZX nt+40(FP), R15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	VBROADCASTSS r+24(FP), Y15
	MOVQ n+32(FP), CX
	XORQ AX, AX
raloop:
	CMPQ AX, CX
	JGE  radone
	VMULPS  (SI)(AX*4), Y15, Y0     // x·r
	VMULPS  (R8)(AX*4), Y0, Y0      // ·γ
	TESTQ R15, R15
	JNZ   ra_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   ra_next
ra_nt:
	VMOVNTPS Y0, (DI)(AX*4)
ra_next:
	ADDQ $8, AX
	JMP  raloop
radone:
	SFENCE
	VZEROUPPER
	RET

// func rmsBackAccumAVX(dgamma, dy, x, gamma *float32, r float32, n int) (sgx float64)
// dγ += g·x̂; returns Σ(g·γ)·x̂ (float64), x̂ = x·r
TEXT ·rmsBackAccumAVX(SB), NOSPLIT, $0-56
	MOVQ dgamma+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ gamma+24(FP), R9
	VBROADCASTSS r+32(FP), Y15
	MOVQ n+40(FP), CX
	XORQ AX, AX
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
rbaloop:
	CMPQ AX, CX
	JGE  rbadone
	VMOVUPS (SI)(AX*4), Y0          // g
	VMULPS  (R8)(AX*4), Y15, Y1     // x̂
	VMULPS  Y0, Y1, Y3              // g·x̂
	VADDPS  (DI)(AX*4), Y3, Y3
	VMOVUPS Y3, (DI)(AX*4)          // dγ
	VMULPS  (R9)(AX*4), Y0, Y0      // g·γ
	VMULPS  Y0, Y1, Y1              // ·x̂
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD  Y2, Y10, Y10
	VADDPD  Y3, Y11, Y11
	ADDQ $8, AX
	JMP  rbaloop
rbadone:
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X1
	VADDPD X1, X10, X10
	VHADDPD X10, X10, X10
	VMOVSD X10, sgx+48(FP)
	VZEROUPPER
	RET

// func rmsBackDxAVX(dx, dy, x, gamma *float32, r, q float32, n int, nt bool)
// dx = r·(g·γ − x̂·q), x̂ = x·r (the product and difference rounded apart,
// as the Go loop does)
TEXT ·rmsBackDxAVX(SB), NOSPLIT, $0-49
	MOVBQZX nt+48(FP), R15
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ gamma+24(FP), R9
	VBROADCASTSS r+32(FP), Y14
	VBROADCASTSS q+36(FP), Y15
	MOVQ n+40(FP), CX
	XORQ AX, AX
rdloop:
	CMPQ AX, CX
	JGE  rddone
	VMULPS  (R8)(AX*4), Y14, Y1     // x̂
	VMULPS  Y15, Y1, Y1             // x̂·q
	VMOVUPS (SI)(AX*4), Y0
	VMULPS  (R9)(AX*4), Y0, Y0      // g·γ
	VSUBPS  Y1, Y0, Y0
	VMULPS  Y14, Y0, Y0
	TESTQ R15, R15
	JNZ   rd_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   rd_next
rd_nt:
	VMOVNTPS Y0, (DI)(AX*4)
rd_next:
	ADDQ $8, AX
	JMP  rdloop
rddone:
	SFENCE
	VZEROUPPER
	RET

// func gnStatsAVX(x, mean, invstd *float32, m, count int, fm, eps float64)
// For each of count consecutive chunks of m values of x (any m > 0; fm =
// float64(m)): mean = Σx/m and invstd = 1/√(max(Σx²/m − mean², 0) + eps)
// from float64 sums (a NaN variance stays NaN), as meanInvStd. Sums run
// 16 values at a time in four accumulators (as rowSumSqAVX: a chunk of a
// multiple of 16 gets its bit-identical sums), then 8, then one by one.
// Short chunks are bound by latency (reductions, divisions), not by the
// sums, so four chunks finish together: each chunk's accumulators are
// folded to two lanes and parked in Y12/Y14 (Σx) and Y13/Y15 (Σx²), and
// every fourth chunk one horizontal add, divisions and a square root serve
// all four.
TEXT ·gnStatsAVX(SB), NOSPLIT, $48-56
	MOVQ x+0(FP), SI
	MOVQ mean+8(FP), DI
	MOVQ invstd+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ count+32(FP), BX
	MOVQ $0x3ff0000000000000, R9
	MOVQ R9, 0(SP)                  // 1.0
	XORQ R11, R11                   // chunks parked (0..3)
gsgroup:
	TESTQ BX, BX
	JZ    gsflush
	SUMSQ_ZERO
	XORQ AX, AX
gs16:
	LEAQ 16(AX), R10
	CMPQ R10, CX
	JGT  gs8
	SUMSQ16
	MOVQ R10, AX
	JMP  gs16
gs8:
	LEAQ 8(AX), R10
	CMPQ R10, CX
	JGT  gsfold
	VCVTPS2PD (SI)(AX*4), Y0
	VCVTPS2PD 16(SI)(AX*4), Y1
	VADDPD    Y0, Y4, Y4
	VADDPD    Y1, Y5, Y5
	VFMADD231PD Y0, Y0, Y8
	VFMADD231PD Y1, Y1, Y9
	MOVQ R10, AX
gsfold:
	SUMSQ_FOLD                      // Σx and Σx² in two lanes each
	CMPQ AX, CX
	JGE  gspark
	VXORPD X2, X2, X2
	VXORPD X3, X3, X3
gstail:
	VCVTSS2SD (SI)(AX*4), X0, X0
	VADDSD X0, X2, X2
	VFMADD231SD X0, X0, X3
	INCQ AX
	CMPQ AX, CX
	JLT  gstail
	VADDSD X2, X4, X4               // the tail into lane 0
	VADDSD X3, X8, X8
gspark:
	CMPQ R11, $1
	JEQ  gspark1
	CMPQ R11, $2
	JEQ  gspark2
	CMPQ R11, $3
	JEQ  gspark3
	VMOVAPD X4, X12
	VMOVAPD X8, X13
	JMP  gsparked
gspark1:
	VINSERTF128 $1, X4, Y12, Y12
	VINSERTF128 $1, X8, Y13, Y13
	JMP  gsparked
gspark2:
	VMOVAPD X4, X14
	VMOVAPD X8, X15
	JMP  gsparked
gspark3:
	VINSERTF128 $1, X4, Y14, Y14
	VINSERTF128 $1, X8, Y15, Y15
gsparked:
	INCQ R11
	LEAQ (SI)(CX*4), SI
	DECQ BX
	CMPQ R11, $4
	JLT  gsgroup
	GN_STATS4                       // X0 = means, X1 = 1/σ (variance clamped at 0, NaN kept)
	VMOVUPS X0, (DI)
	VMOVUPS X1, (DX)
	ADDQ $16, DI
	ADDQ $16, DX
	XORQ R11, R11
	JMP  gsgroup
gsflush:                                // the last count mod 4 chunks; the
	TESTQ R11, R11                  // other lanes are computed from stale
	JZ    gsdone                    // registers and never stored
	GN_STATS4                       // X0 = means, X1 = 1/σ (variance clamped at 0, NaN kept)
	VMOVUPS X0, 16(SP)
	VMOVUPS X1, 32(SP)
	XORQ AX, AX
gscopy:
	MOVL 16(SP)(AX*4), R9
	MOVL R9, (DI)(AX*4)
	MOVL 32(SP)(AX*4), R9
	MOVL R9, (DX)(AX*4)
	INCQ AX
	CMPQ AX, R11
	JLT  gscopy
gsdone:
	VZEROUPPER
	RET

// func gnApplyAVX(y, x, gamma, beta, mean, invstd *float32, cg, groups int, nt bool)
// One row of groups groups of cg features (S = 1), each group with its
// mean m and invstd is: y = γ·((x−m)·is) + β, as lnApplyAVX; each group's
// last cg mod 8 values one at a time, rounded as lnApplyGo (no FMA), so a
// group shorter than 8 gets the arithmetic the Go loops gave it before.
TEXT ·gnApplyAVX(SB), NOSPLIT, $0-65
	MOVBQZX nt+64(FP), R15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ mean+32(FP), R10
	MOVQ invstd+40(FP), R11
	MOVQ cg+48(FP), CX
	MOVQ groups+56(FP), BX
	XORQ AX, AX
gagroup:
	TESTQ BX, BX
	JZ    gadone
	VBROADCASTSS (R10), Y14
	VBROADCASTSS (R11), Y15
	LEAQ (AX)(CX*1), R12            // the group's end
	LEAQ -8(R12), R13               // last start of a full vector
gavec:
	CMPQ AX, R13
	JGT  gatail
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  Y14, Y0, Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS (R8)(AX*4), Y1
	VFMADD213PS (R9)(AX*4), Y1, Y0
	TESTQ R15, R15
	JNZ   ga_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   ga_next
ga_nt:
	VMOVNTPS Y0, (DI)(AX*4)
ga_next:
	ADDQ $8, AX
	JMP  gavec
gatail:
	CMPQ AX, R12
	JGE  ganext
	VMOVSS (SI)(AX*4), X0
	VSUBSS X14, X0, X0
	VMULSS X15, X0, X0
	VMULSS (R8)(AX*4), X0, X0
	VADDSS (R9)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  gatail
ganext:
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ BX
	JMP  gagroup
gadone:
	SFENCE
	VZEROUPPER
	RET

// func gnBackAVX(dx, dgamma, dbeta, dy, x, gamma, mean, invstd *float32, cg, groups int, inv float64, nt bool)
// One row of groups groups of cg features (S = 1), each group in two
// passes while it is in L1: lnBackAccumAVX's (dβ += g; dγ += g·x̂;
// sg = Σγ·g, sgx = Σγ·g·x̂ in float64), then lnBackDxAVX's with
// a = f32(sg·inv), q = f32(sgx·inv): dx = is·(g·γ − a − x̂·q),
// x̂ = (x−m)·is. Each pass does the group's last cg mod 8 values one at a
// time, rounded as lnBackDxGo (no FMA: in a group of a few values dx is a
// difference of nearly equal terms, which the GPU kernels' tolerance sees).
TEXT ·gnBackAVX(SB), NOSPLIT, $0-89
	MOVBQZX nt+88(FP), R15
	MOVQ dx+0(FP), DI
	MOVQ dgamma+8(FP), R8
	MOVQ dbeta+16(FP), R9
	MOVQ dy+24(FP), SI
	MOVQ x+32(FP), R10
	MOVQ gamma+40(FP), R11
	MOVQ mean+48(FP), R12
	MOVQ invstd+56(FP), R13
	MOVQ cg+64(FP), CX
	MOVQ groups+72(FP), BX
	XORQ AX, AX
gbgroup:
	TESTQ BX, BX
	JZ    gbdone
	VBROADCASTSS (R12), Y14         // m
	VBROADCASTSS (R13), Y15         // is
	LEAQ (AX)(CX*1), DX             // the group's end
	LEAQ -8(DX), R14                // last start of a full vector
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
gb1vec:
	CMPQ AX, R14
	JGT  gb1red
	LN_BACK_SUMS8(SI, R10, R9, R8, R11)
	ADDQ $8, AX
	JMP  gb1vec
gb1red:
	LN_BACK_SUMS_REDUCE                 // X8 = sg, X10 = sgx
gb1tail:
	CMPQ AX, DX
	JGE  gb2
	VMOVSS (SI)(AX*4), X0           // g
	VMOVSS (R10)(AX*4), X1
	VSUBSS X14, X1, X1
	VMULSS X15, X1, X1              // x̂
	VADDSS (R9)(AX*4), X0, X2
	VMOVSS X2, (R9)(AX*4)           // dβ
	VMULSS X0, X1, X3
	VADDSS (R8)(AX*4), X3, X3
	VMOVSS X3, (R8)(AX*4)           // dγ
	VMULSS (R11)(AX*4), X0, X0      // gg
	VMULSS X0, X1, X1               // gg·x̂
	VCVTSS2SD X0, X2, X2
	VADDSD X2, X8, X8
	VCVTSS2SD X1, X3, X3
	VADDSD X3, X10, X10
	INCQ AX
	JMP  gb1tail
gb2:
	VMOVSD inv+80(FP), X4
	VMULSD X4, X8, X8
	VCVTSD2SS X8, X8, X8
	VBROADCASTSS X8, Y12            // a
	VMULSD X4, X10, X10
	VCVTSD2SS X10, X10, X10
	VBROADCASTSS X10, Y13           // q
	MOVQ DX, AX
	SUBQ CX, AX                     // back to the group's start
gb2vec:
	CMPQ AX, R14
	JGT  gb2tail
	LN_BACK_DX8(R10, SI, R11, Y14, Y15, Y12, Y13)
	TESTQ R15, R15
	JNZ   gb_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   gb_next
gb_nt:
	VMOVNTPS Y0, (DI)(AX*4)
gb_next:
	ADDQ $8, AX
	JMP  gb2vec
gb2tail:
	CMPQ AX, DX
	JGE  gbnext
	VMOVSS (R10)(AX*4), X1
	VSUBSS X14, X1, X1
	VMULSS X15, X1, X1
	VMOVSS (SI)(AX*4), X0
	VMULSS (R11)(AX*4), X0, X0
	VSUBSS X12, X0, X0
	VMULSS X13, X1, X1
	VSUBSS X1, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  gb2tail
gbnext:
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ BX
	JMP  gbgroup
gbdone:
	SFENCE
	VZEROUPPER
	RET

// func scaleShiftAVX(y, x *float32, sc, sh float32, n int, nt bool)
// y = x·sc + sh (one FMA)
TEXT ·scaleShiftAVX(SB), NOSPLIT, $0-33
	MOVBQZX nt+32(FP), R15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS sc+16(FP), Y14
	VBROADCASTSS sh+20(FP), Y15
	MOVQ n+24(FP), CX
	XORQ AX, AX
shloop:
	CMPQ AX, CX
	JGE  shdone
	VMOVUPS (SI)(AX*4), Y0
	VFMADD213PS Y15, Y14, Y0
	TESTQ R15, R15
	JNZ   sh_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   sh_next
sh_nt:
	VMOVNTPS Y0, (DI)(AX*4)
sh_next:
	ADDQ $8, AX
	JMP  shloop
shdone:
	SFENCE
	VZEROUPPER
	RET

// func chanBackSumsAVX(dy, x *float32, m, is float32, n int) (sdy, sdyx float64)
// returns Σg and Σg·x̂ (float64), x̂ = (x−m)·is
TEXT ·chanBackSumsAVX(SB), NOSPLIT, $0-48
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), R8
	VBROADCASTSS m+16(FP), Y14
	VBROADCASTSS is+20(FP), Y15
	MOVQ n+24(FP), CX
	XORQ AX, AX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
cbloop:
	CMPQ AX, CX
	JGE  cbdone
	VMOVUPS (SI)(AX*4), Y0          // g
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  Y14, Y1, Y1
	VMULPS  Y15, Y1, Y1             // x̂
	VMULPS  Y0, Y1, Y1              // g·x̂
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
	JMP  cbloop
cbdone:
	VADDPD Y9, Y8, Y8
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y8, X0
	VADDPD X0, X8, X8
	VHADDPD X8, X8, X8
	VEXTRACTF128 $1, Y10, X1
	VADDPD X1, X10, X10
	VHADDPD X10, X10, X10
	VMOVSD X8, sdy+32(FP)
	VMOVSD X10, sdyx+40(FP)
	VZEROUPPER
	RET

// func chanBackDxAVX(dx, dy, x *float32, m, is, ga, a, q float32, n int, nt bool)
// dx = is·(g·ga − a − x̂·q), x̂ = (x−m)·is, with one channel's γ ga
TEXT ·chanBackDxAVX(SB), NOSPLIT, $0-57
	MOVBQZX nt+56(FP), R15
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	VBROADCASTSS m+24(FP), Y11
	VBROADCASTSS is+28(FP), Y12
	VBROADCASTSS ga+32(FP), Y13
	VBROADCASTSS a+36(FP), Y14
	VBROADCASTSS q+40(FP), Y15
	MOVQ n+48(FP), CX
	XORQ AX, AX
cdloop:
	CMPQ AX, CX
	JGE  cddone
	VMOVUPS (R8)(AX*4), Y1
	VSUBPS  Y11, Y1, Y1
	VMULPS  Y12, Y1, Y1             // x̂
	VMULPS  (SI)(AX*4), Y13, Y0     // g·ga
	VSUBPS  Y14, Y0, Y0             // − a
	VFNMADD231PS Y15, Y1, Y0        // − x̂·q
	VMULPS  Y12, Y0, Y0
	TESTQ R15, R15
	JNZ   cd_nt
	VMOVUPS Y0, (DI)(AX*4)
	JMP   cd_next
cd_nt:
	VMOVNTPS Y0, (DI)(AX*4)
cd_next:
	ADDQ $8, AX
	JMP  cdloop
cddone:
	SFENCE
	VZEROUPPER
	RET

// func cpuRelax()
TEXT ·cpuRelax(SB), NOSPLIT, $0-0
	PAUSE
	PAUSE
	PAUSE
	PAUSE
	RET

// ramp2<>: 0, 2, …, 14 as int32, the first input column of each of 8
// max-pool outputs.
DATA ramp2<>+0(SB)/4, $0
DATA ramp2<>+4(SB)/4, $2
DATA ramp2<>+8(SB)/4, $4
DATA ramp2<>+12(SB)/4, $6
DATA ramp2<>+16(SB)/4, $8
DATA ramp2<>+20(SB)/4, $10
DATA ramp2<>+24(SB)/4, $12
DATA ramp2<>+28(SB)/4, $14
GLOBL ramp2<>(SB), RODATA|NOPTR, $32

// func maxPool2RowAVX(r0, r1, y *float32, idx *int32, n int, i0, w int32)
// n outputs (a multiple of 8) of one 2×2 max-pool row: y[o] is the first
// maximum of r0[2o], r0[2o+1], r1[2o], r1[2o+1] (strictly greater wins,
// as maxPool2Go), idx[o] its index i0 + 2o + {0, 1, w, w+1}.
TEXT ·maxPool2RowAVX(SB), NOSPLIT, $0-48
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ y+16(FP), DX
	MOVQ idx+24(FP), R8
	MOVQ n+32(FP), CX
	MOVL i0+40(FP), AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPADDD ramp2<>(SB), Y10, Y10 // the column-pair starts' indices
	MOVL $16, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11 // 8 outputs further: 16 columns
	MOVL $1, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12 // offset of b
	MOVL w+44(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13 // offset of c
	VPADDD Y12, Y13, Y14 // offset of d
	TESTQ CX, CX
	JZ pooldone
poolloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VPERMPD $0xD8, Y2, Y2 // a: r0's even columns
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y3, Y3 // b: r0's odd columns
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VPERMPD $0xD8, Y4, Y4 // c
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y5, Y5 // d
	VPXOR Y6, Y6, Y6 // offset of the best so far: a's, 0
	VCMPPS $0x1E, Y2, Y3, Y7 // b > best
	VBLENDVPS Y7, Y3, Y2, Y2
	VBLENDVPS Y7, Y12, Y6, Y6
	VCMPPS $0x1E, Y2, Y4, Y7 // c > best
	VBLENDVPS Y7, Y4, Y2, Y2
	VBLENDVPS Y7, Y13, Y6, Y6
	VCMPPS $0x1E, Y2, Y5, Y7 // d > best
	VBLENDVPS Y7, Y5, Y2, Y2
	VBLENDVPS Y7, Y14, Y6, Y6
	VPADDD Y10, Y6, Y6
	VMOVUPS Y2, (DX)
	VMOVDQU Y6, (R8)
	VPADDD Y11, Y10, Y10
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JNZ poolloop
pooldone:
	VZEROUPPER
	RET
