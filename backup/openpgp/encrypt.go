package openpgp

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/opskit/opskit/backup"
)

var _ backup.Encryptor = (*Encryptor)(nil)

// Encryptor encrypts streams to one or more public keys (for example an
// instance's own key and an escrow key); any one of the matching private
// keys decrypts. The output is one binary OpenPGP message as GnuPG 2.2
// reads it: a public-key encrypted session key packet per recipient, then a
// symmetrically encrypted integrity-protected data packet (SEIPD v1, AES-256,
// with the SHA-1 modification detection code; no AEAD) holding a literal
// data packet (binary, no file name, no date). There is no OpenPGP
// compression: backups are zstd-compressed before they are encrypted.
//
// An Encryptor is safe for concurrent use; each Encrypt call makes an
// independent message.
type Encryptor struct {
	keys []*PublicKey
	fprs []string

	// Rand is the source of session keys and of the random prefix; nil
	// means crypto/rand.
	Rand io.Reader
	// Now returns the time used to check that the recipient keys have not
	// expired; nil means time.Now.
	Now func() time.Time
	// Sequential, when true, computes the integrity hash on the writing
	// goroutine. By default the hash of each 1 MiB chunk is computed on a
	// second goroutine while the chunk is being encrypted, when
	// GOMAXPROCS > 1.
	Sequential bool
}

// NewEncryptor returns an Encryptor to the given recipients, in that order
// (duplicates are dropped). Each must be able to encrypt now: a key that is
// revoked, expired or has no encryption subkey is refused with a *KeyError
// (matching ErrUnusableKey).
func NewEncryptor(recipients ...*PublicKey) (*Encryptor, error) {
	if len(recipients) == 0 {
		return nil, errors.New("openpgp: an Encryptor needs at least one recipient key")
	}
	e := &Encryptor{}
	seen := map[string]bool{}
	for _, k := range recipients {
		if k == nil || k.e == nil {
			return nil, errors.New("openpgp: nil recipient key")
		}
		if err := usable(k.e, time.Now(), true); err != nil {
			return nil, err
		}
		f := k.Fingerprint()
		if seen[f] {
			continue
		}
		seen[f] = true
		e.keys = append(e.keys, k)
		e.fprs = append(e.fprs, f)
	}
	return e, nil
}

// Recipients returns the primary key fingerprints of the recipients,
// upper-case hex, in the order given to NewEncryptor.
func (e *Encryptor) Recipients() []string { return append([]string(nil), e.fprs...) }

// chunkBits sets the size of the partial body chunks, inner and outer:
// 1 MiB. Large chunks mean few, large block cipher runs and hash calls;
// memory per message is about 2 MiB.
const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
)

// Encrypt starts a message to dst. The recipients' session key packets are
// written at once; the data follows as it is written, in 1 MiB chunks.
// Close writes the end of the message (it does not close dst). Memory use is
// constant (about 2 MiB) whatever the amount written.
func (e *Encryptor) Encrypt(dst io.Writer) (io.WriteCloser, error) {
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	rnd := e.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	cfg := &packet.Config{Rand: rnd, Time: func() time.Time { return now }}
	sessionKey := make([]byte, 32)
	if _, err := io.ReadFull(rnd, sessionKey); err != nil {
		return nil, fmt.Errorf("openpgp: session key: %w", err)
	}
	for _, k := range e.keys {
		if err := usable(k.e, now, true); err != nil {
			return nil, err
		}
		sub, _ := k.e.EncryptionKey(now)
		if err := packet.SerializeEncryptedKeyAEAD(dst, sub.PublicKey, packet.CipherAES256, false, sessionKey, cfg); err != nil {
			return nil, fmt.Errorf("openpgp: encrypt session key to %s: %w", k.Fingerprint(), err)
		}
	}
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return nil, fmt.Errorf("openpgp: %w", err)
	}
	w := &writer{
		dst:   dst,
		cfb:   newCFB(block),
		h:     sha1.New(),
		lit:   make([]byte, 1+chunkSize),
		out:   make([]byte, 1+chunkSize),
		async: !e.Sequential && runtime.GOMAXPROCS(0) > 1,
	}
	// Outer packet: new-format tag 18 (SEIPD), partial body lengths; the
	// body starts with version 1.
	if _, err := dst.Write([]byte{0xC0 | 18}); err != nil {
		return nil, err
	}
	w.out[0] = 0xE0 | chunkBits
	w.out[1] = 1
	w.outN = 1
	// Inner stream: the random prefix (a block of random bytes, its last two
	// repeated), then a literal data packet, new-format tag 11, whose body
	// starts with format 'b', an empty file name and a zero date.
	var prefix [16 + 2 + 1]byte
	if _, err := io.ReadFull(rnd, prefix[:16]); err != nil {
		return nil, fmt.Errorf("openpgp: random prefix: %w", err)
	}
	prefix[16], prefix[17] = prefix[14], prefix[15]
	prefix[18] = 0xC0 | 11
	w.emit(prefix[:])
	w.lit[0] = 0xE0 | chunkBits
	copy(w.lit[1:], []byte{'b', 0, 0, 0, 0, 0})
	w.litN = 6
	if w.err != nil {
		return nil, w.err
	}
	return w, nil
}

// writer produces the message. Plaintext is gathered into lit (one partial
// chunk of the literal packet, its length byte first); each full chunk is
// hashed for the MDC and encrypted into out (one partial chunk of the SEIPD
// packet), which is written to dst when full.
type writer struct {
	dst    io.Writer
	cfb    *cfb
	h      hash.Hash
	lit    []byte
	litN   int // body bytes in lit[1:]
	out    []byte
	outN   int // body bytes in out[1:]
	async  bool
	err    error
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("openpgp: write after Close")
	}
	n := 0
	for len(p) > 0 && w.err == nil {
		c := copy(w.lit[1+w.litN:], p)
		w.litN += c
		n += c
		p = p[c:]
		if w.litN == chunkSize {
			w.emit(w.lit)
			w.litN = 0
		}
	}
	return n, w.err
}

// emit hashes and encrypts inner bytes. With async set, a large run is
// hashed on another goroutine while this one encrypts it; emit returns
// only when both are done, so the caller may reuse p.
func (w *writer) emit(p []byte) {
	if w.err != nil {
		return
	}
	var done chan struct{}
	if w.async && len(p) >= 64<<10 {
		done = make(chan struct{})
		go func() {
			w.h.Write(p)
			close(done)
		}()
	} else {
		w.h.Write(p)
	}
	w.encrypt(p)
	if done != nil {
		<-done
	}
}

// encrypt encrypts p into the outer chunk buffer, writing full chunks.
func (w *writer) encrypt(p []byte) {
	for len(p) > 0 && w.err == nil {
		n := min(len(p), chunkSize-w.outN)
		w.cfb.encrypt(w.out[1+w.outN:1+w.outN+n], p[:n])
		w.outN += n
		p = p[n:]
		if w.outN == chunkSize {
			if _, err := w.dst.Write(w.out); err != nil {
				w.err = err
				return
			}
			w.outN = 0
		}
	}
}

// Close ends the literal packet, appends the MDC packet and ends the SEIPD
// packet. It does not close the underlying writer.
func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	var hdr [5]byte
	w.emit(hdr[:lengthHeader(hdr[:], w.litN)])
	w.emit(w.lit[1 : 1+w.litN])
	// MDC packet: tag 19, length 20, SHA-1 of everything before it
	// including its own two header bytes.
	mdc := []byte{0xD3, 0x14}
	w.h.Write(mdc)
	mdc = w.h.Sum(mdc)
	w.encrypt(mdc)
	if w.err != nil {
		return w.err
	}
	n := lengthHeader(hdr[:], w.outN)
	if _, err := w.dst.Write(hdr[:n]); err != nil {
		w.err = err
		return err
	}
	if _, err := w.dst.Write(w.out[1 : 1+w.outN]); err != nil {
		w.err = err
		return err
	}
	return nil
}

// lengthHeader writes a new-format definite body length (RFC 4880 4.2.2)
// into b and returns its size.
func lengthHeader(b []byte, n int) int {
	switch {
	case n < 192:
		b[0] = byte(n)
		return 1
	case n < 8384:
		n -= 192
		b[0] = byte(n>>8) + 192
		b[1] = byte(n)
		return 2
	default:
		b[0] = 255
		b[1], b[2], b[3], b[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return 5
	}
}
