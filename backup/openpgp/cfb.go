package openpgp

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// cfb is OpenPGP's CFB mode as used by the integrity-protected data packet
// (SEIPD v1, RFC 4880 5.13): plain CFB-128 with an all-zero IV over
// prefix || plaintext, without the resynchronisation step. go-crypto's
// generic OCFB stream works a byte at a time through an interface; this one
// works a block at a time, which is what makes the writer fast.
type cfb struct {
	b   cipher.Block
	fb  [16]byte // feedback register: the previous ciphertext block (filled as it is made)
	ks  [16]byte // keystream of the current block
	pos int      // bytes of ks used; 16 means the next byte starts a new block
}

func newCFB(b cipher.Block) *cfb { return &cfb{b: b, pos: 16} }

// encrypt encrypts src into dst (len(dst) >= len(src); they may be the same
// slice). Encryption is inherently serial: each block needs the previous
// ciphertext block.
func (x *cfb) encrypt(dst, src []byte) {
	for x.pos < 16 && len(src) > 0 {
		c := src[0] ^ x.ks[x.pos]
		x.fb[x.pos] = c
		dst[0] = c
		x.pos++
		src, dst = src[1:], dst[1:]
	}
	le := binary.LittleEndian
	for len(src) >= 16 {
		x.b.Encrypt(x.ks[:], x.fb[:])
		a := le.Uint64(src[0:8]) ^ le.Uint64(x.ks[0:8])
		c := le.Uint64(src[8:16]) ^ le.Uint64(x.ks[8:16])
		le.PutUint64(dst[0:8], a)
		le.PutUint64(dst[8:16], c)
		le.PutUint64(x.fb[0:8], a)
		le.PutUint64(x.fb[8:16], c)
		src, dst = src[16:], dst[16:]
	}
	if len(src) > 0 {
		x.b.Encrypt(x.ks[:], x.fb[:])
		x.pos = 0
		for i := range src {
			c := src[i] ^ x.ks[i]
			x.fb[i] = c
			dst[i] = c
		}
		x.pos = len(src)
	}
}

// decrypt decrypts src into dst, which must not overlap src. Unlike
// encryption, every keystream block depends only on ciphertext already at
// hand, so the block cipher calls are independent and the CPU pipelines
// them; the XOR is then one vectorised pass.
func (x *cfb) decrypt(dst, src []byte) {
	for x.pos < 16 && len(src) > 0 {
		c := src[0]
		dst[0] = c ^ x.ks[x.pos]
		x.fb[x.pos] = c
		x.pos++
		src, dst = src[1:], dst[1:]
	}
	if n := len(src) &^ 15; n > 0 {
		x.b.Encrypt(dst[:16], x.fb[:])
		for i := 16; i < n; i += 16 {
			x.b.Encrypt(dst[i:i+16], src[i-16:i])
		}
		subtle.XORBytes(dst[:n], dst[:n], src[:n])
		copy(x.fb[:], src[n-16:n])
		src, dst = src[n:], dst[n:]
	}
	if len(src) > 0 {
		x.b.Encrypt(x.ks[:], x.fb[:])
		for i := range src {
			c := src[i]
			dst[i] = c ^ x.ks[i]
			x.fb[i] = c
		}
		x.pos = len(src)
	}
}
